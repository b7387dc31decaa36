//! What the emulator controls answer: lifecycles and outcomes as JSON objects in exactly the
//! shape they are given in.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::emulation::{Lifecycle, Outcome};

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleView {
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_after_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_after_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_after: Option<i64>,
}

impl From<&Lifecycle> for LifecycleView {
    fn from(lifecycle: &Lifecycle) -> Self {
        let mut view = LifecycleView {
            mode: lifecycle.mode(),
            processing_after_ms: None,
            complete_after_ms: None,
            processing_after: None,
            complete_after: None,
        };
        match *lifecycle {
            Lifecycle::Timed {
                processing_after_ms,
                complete_after_ms,
            } => {
                view.processing_after_ms = Some(processing_after_ms);
                view.complete_after_ms = Some(complete_after_ms);
            }
            Lifecycle::Polls {
                processing_after,
                complete_after,
            } => {
                view.processing_after = Some(processing_after);
                view.complete_after = Some(complete_after);
            }
            _ => {}
        }
        view
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeView {
    /// `succeed`, `fail` or `stuck`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_polls: Option<i64>,
}

impl From<&Outcome> for OutcomeView {
    fn from(outcome: &Outcome) -> Self {
        use crate::domain::emulation::Ending;
        OutcomeView {
            result: match outcome.result {
                Ending::Succeed => "succeed",
                Ending::Fail => "fail",
                Ending::Stuck => "stuck",
            },
            reason: outcome.reason.clone(),
            after_ms: outcome.after_ms,
            after_polls: outcome.after_polls,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeQueue {
    /// What the account's next videos take, in order.
    pub outcomes: Vec<OutcomeView>,
}

impl OutcomeQueue {
    pub fn of(outcomes: &[Outcome]) -> Self {
        OutcomeQueue {
            outcomes: outcomes.iter().map(OutcomeView::from).collect(),
        }
    }
}
