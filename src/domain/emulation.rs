//! Emulator controls (admin API): how a video that is not rendered for real moves through its
//! statuses. An account's *lifecycle* says how its new videos move; a scripted *outcome* says
//! where one ends; together they become the video's *script*, fixed when the video is created.
//! Pure: times are the account's clock in epoch milliseconds, polls are counted by the caller.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::VideoStatus;

/// The fields each mode takes besides `mode`.
const LIFECYCLE_FIELDS: &[(&str, &[&str])] = &[
    ("timed", &["processing_after_ms", "complete_after_ms"]),
    ("polls", &["processing_after", "complete_after"]),
];

/// How an account's new videos move (`[emulator] lifecycle`, `/accounts/{uid}/lifecycle`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub enum Lifecycle {
    /// The real renderer.
    #[default]
    Render,
    /// Finished at once, with a real MP4 of the requested size and length.
    Instant,
    /// 1 -> 2 and 2 -> 3 when the account's clock passes create_time + each delay.
    Timed {
        processing_after_ms: i64,
        complete_after_ms: i64,
    },
    /// 1 -> 2 and 2 -> 3 on the Nth and Mth `resultsByIds` call that includes the video.
    Polls {
        processing_after: i64,
        complete_after: i64,
    },
    /// Queued until `/videos/{_id}/advance` moves it one step.
    Manual,
}

impl Lifecycle {
    /// Reads a lifecycle object, or a bare mode name for the modes that take no numbers, or
    /// (from an environment variable) that object written as JSON text.
    pub fn from_json(value: &Value) -> Result<Lifecycle, String> {
        let object = match value {
            Value::String(text) if text.trim_start().starts_with('{') => {
                serde_json::from_str(text).map_err(|e| format!("lifecycle: {e}"))?
            }
            Value::String(mode) => match mode.as_str() {
                "timed" | "polls" => {
                    return Err(format!(
                        "lifecycle: mode {mode:?} takes numbers; give an object such as {}",
                        Lifecycle::example(mode)
                    ))
                }
                _ => serde_json::json!({ "mode": mode }),
            },
            _ => value.clone(),
        };
        let lifecycle: Lifecycle =
            serde_json::from_value(object.clone()).map_err(|e| format!("lifecycle: {e}"))?;
        // serde lets unknown fields through next to a mode that has none: a typo must not pass.
        let known = LIFECYCLE_FIELDS
            .iter()
            .find(|(mode, _)| *mode == lifecycle.mode())
            .map_or(&[][..], |(_, fields)| *fields);
        if let Some(unknown) = object.as_object().and_then(|o| {
            o.keys()
                .find(|k| *k != "mode" && !known.contains(&k.as_str()))
        }) {
            return Err(format!(
                "lifecycle: mode {:?} takes no field {unknown:?}",
                lifecycle.mode()
            ));
        }
        lifecycle.validate()?;
        Ok(lifecycle)
    }

    fn example(mode: &str) -> &'static str {
        if mode == "timed" {
            r#"{"mode":"timed","processing_after_ms":1000,"complete_after_ms":5000}"#
        } else {
            r#"{"mode":"polls","processing_after":1,"complete_after":3}"#
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Lifecycle::Timed {
                processing_after_ms: p,
                complete_after_ms: c,
            } if p < 0 || c < p => Err(format!(
                "lifecycle: timed needs 0 <= processing_after_ms <= complete_after_ms, got {p} and {c}"
            )),
            Lifecycle::Polls {
                processing_after: p,
                complete_after: c,
            } if p < 1 || c < p => Err(format!(
                "lifecycle: polls needs 1 <= processing_after <= complete_after, got {p} and {c}"
            )),
            _ => Ok(()),
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Lifecycle::Render => "render",
            Lifecycle::Instant => "instant",
            Lifecycle::Timed { .. } => "timed",
            Lifecycle::Polls { .. } => "polls",
            Lifecycle::Manual => "manual",
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a lifecycle serializes")
    }
}

/// Where a scripted video ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ending {
    #[default]
    Succeed,
    /// Status 4 with the outcome's reason; the charge is refunded.
    Fail,
    /// Reaches processing and stays there until advanced or forced.
    Stuck,
}

pub const DEFAULT_FAIL_REASON: &str = "failed by test outcome";

/// One scripted outcome (`/accounts/{uid}/outcomes`, `/videos/{_id}/outcome`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub result: Ending,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_polls: Option<i64>,
}

impl Outcome {
    pub fn from_json(value: &Value) -> Result<Outcome, String> {
        let outcome: Outcome =
            serde_json::from_value(value.clone()).map_err(|e| format!("outcome: {e}"))?;
        match outcome {
            Outcome {
                after_ms: Some(_),
                after_polls: Some(_),
                ..
            } => Err("outcome: give after_ms or after_polls, not both".into()),
            Outcome {
                after_ms: Some(ms), ..
            } if ms < 0 => Err(format!("outcome: after_ms must be >= 0, got {ms}")),
            Outcome {
                after_polls: Some(n),
                ..
            } if n < 1 => Err(format!("outcome: after_polls must be >= 1, got {n}")),
            Outcome {
                result: Ending::Succeed | Ending::Stuck,
                reason: Some(_),
                ..
            } => Err("outcome: reason is for result \"fail\" only".into()),
            Outcome {
                reason: Some(ref r),
                ..
            } if r.trim().is_empty() || r.contains('\0') => {
                Err("outcome: reason must be non-empty text".into())
            }
            _ => Ok(outcome),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an outcome serializes")
    }

    pub fn parse_stored(stored: &str) -> Option<Outcome> {
        serde_json::from_str(stored).ok()
    }
}

/// When a scripted video takes its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Timing {
    /// Every step as soon as it can be taken (instant, and outcomes under render).
    AtOnce,
    /// Account-clock times of 1 -> 2 and of the ending.
    Timed {
        processing_at: i64,
        complete_at: i64,
    },
    /// The polls that move it.
    Polls {
        processing_after: i64,
        complete_after: i64,
    },
    Manual,
}

impl Timing {
    /// The name stored beside the script, so the poll counter finds its videos by index.
    pub fn kind(&self) -> &'static str {
        match self {
            Timing::AtOnce => "at_once",
            Timing::Timed { .. } => "timed",
            Timing::Polls { .. } => "polls",
            Timing::Manual => "manual",
        }
    }
}

/// A video's fixed plan: when it moves and where it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub timing: Timing,
    pub ending: Ending,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How long the emulator loop leaves a step due at once to the request that made it due.
pub const AT_ONCE_RECOVERY_MS: i64 = 2_000;

/// The next status a scripted video moves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Start,
    Complete,
    Fail(String),
}

impl Script {
    /// The script of a video created at `create_time` under `lifecycle`, taking `outcome`;
    /// `None` when it is rendered for real (render lifecycle, no outcome).
    pub fn plan(
        lifecycle: &Lifecycle,
        outcome: Option<&Outcome>,
        create_time: i64,
    ) -> Option<Script> {
        let timing = match outcome {
            Some(Outcome {
                after_ms: Some(ms), ..
            }) => Timing::Timed {
                processing_at: create_time,
                complete_at: create_time.saturating_add(*ms),
            },
            Some(Outcome {
                after_polls: Some(n),
                ..
            }) => Timing::Polls {
                processing_after: 1,
                complete_after: *n,
            },
            _ => match lifecycle {
                Lifecycle::Render if outcome.is_none() => return None,
                Lifecycle::Render | Lifecycle::Instant => Timing::AtOnce,
                Lifecycle::Timed {
                    processing_after_ms,
                    complete_after_ms,
                } => Timing::Timed {
                    processing_at: create_time.saturating_add(*processing_after_ms),
                    complete_at: create_time.saturating_add(*complete_after_ms),
                },
                Lifecycle::Polls {
                    processing_after,
                    complete_after,
                } => Timing::Polls {
                    processing_after: *processing_after,
                    complete_after: *complete_after,
                },
                Lifecycle::Manual => Timing::Manual,
            },
        };
        Some(Script {
            timing,
            ending: outcome.map_or(Ending::Succeed, |o| o.result),
            reason: outcome.and_then(|o| o.reason.clone()),
        })
    }

    /// The script a video created at `create_time` gets when an operator sets its outcome: the
    /// outcome's own timing if it has one, else the video's current timing (at once for a video
    /// the renderer had).
    pub fn with_outcome(current: Option<&Script>, outcome: &Outcome, create_time: i64) -> Script {
        let timing = match (outcome.after_ms, outcome.after_polls, current) {
            (Some(ms), _, _) => Timing::Timed {
                processing_at: create_time,
                complete_at: create_time.saturating_add(ms),
            },
            (_, Some(n), _) => Timing::Polls {
                processing_after: 1,
                complete_after: n,
            },
            (_, _, Some(script)) => script.timing,
            _ => Timing::AtOnce,
        };
        Script {
            timing,
            ending: outcome.result,
            reason: outcome.reason.clone(),
        }
    }

    /// Waits for an operator's advance and then succeeds: what a video the renderer had becomes
    /// when advanced, and what seeded waiting records follow.
    pub fn manual() -> Script {
        Script {
            timing: Timing::Manual,
            ending: Ending::Succeed,
            reason: None,
        }
    }

    /// What the outcome looks like to an operator reading it back.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            result: self.ending,
            reason: self.reason.clone(),
            after_ms: None,
            after_polls: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a script serializes")
    }

    pub fn parse_stored(stored: &str) -> Option<Script> {
        serde_json::from_str(stored).ok()
    }

    /// The step a video in `status` takes on its own now (account clock `now`, `polls` counted),
    /// if any. Manual videos and stuck endings take none: only an operator moves them on.
    pub fn due_step(&self, status: VideoStatus, polls: i64, now: i64) -> Option<Step> {
        let (start_due, end_due) = match self.timing {
            Timing::AtOnce => (true, true),
            Timing::Timed {
                processing_at,
                complete_at,
            } => (now >= processing_at, now >= complete_at),
            Timing::Polls {
                processing_after,
                complete_after,
            } => (polls >= processing_after, polls >= complete_after),
            Timing::Manual => (false, false),
        };
        match status {
            VideoStatus::Queued if start_due => Some(Step::Start),
            VideoStatus::Processing if end_due => self.ending_step(),
            _ => None,
        }
    }

    /// The step an operator's `advance` takes from `status`: stuck videos complete.
    pub fn advance_step(&self, status: VideoStatus) -> Option<Step> {
        match status {
            VideoStatus::Queued => Some(Step::Start),
            VideoStatus::Processing => Some(self.ending_step().unwrap_or(Step::Complete)),
            _ => None,
        }
    }

    fn ending_step(&self) -> Option<Step> {
        match self.ending {
            Ending::Succeed => Some(Step::Complete),
            Ending::Fail => Some(Step::Fail(
                self.reason
                    .clone()
                    .unwrap_or_else(|| DEFAULT_FAIL_REASON.to_owned()),
            )),
            Ending::Stuck => None,
        }
    }

    /// The account-clock time of the next step the background loop takes from `status`, reached
    /// at account time `now`. Steps taken at once are taken by whoever made them due (the create,
    /// an operator); the loop (of any process) takes them only `AT_ONCE_RECOVERY_MS` later, when
    /// that one has died, so the two seldom race (a race is harmless: each step is fenced).
    pub fn due_at(&self, status: VideoStatus, now: i64) -> Option<i64> {
        let recovery = now.saturating_add(AT_ONCE_RECOVERY_MS);
        match (self.timing, status) {
            (Timing::AtOnce, VideoStatus::Queued) => Some(recovery),
            (Timing::AtOnce, VideoStatus::Processing) if self.ending != Ending::Stuck => {
                Some(recovery)
            }
            (Timing::Timed { processing_at, .. }, VideoStatus::Queued) => Some(processing_at),
            (Timing::Timed { complete_at, .. }, VideoStatus::Processing)
                if self.ending != Ending::Stuck =>
            {
                Some(complete_at)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifecycles_read_as_documented() {
        assert_eq!(
            Lifecycle::from_json(&json!({"mode":"instant"})),
            Ok(Lifecycle::Instant)
        );
        assert_eq!(
            Lifecycle::from_json(&json!("manual")),
            Ok(Lifecycle::Manual)
        );
        let from_env = json!(r#"{"mode":"polls","processing_after":1,"complete_after":2}"#);
        assert!(matches!(
            Lifecycle::from_json(&from_env),
            Ok(Lifecycle::Polls { .. })
        ));
        let timed = json!({"mode":"timed","processing_after_ms":5,"complete_after_ms":9});
        assert_eq!(
            serde_json::to_value(Lifecycle::from_json(&timed).unwrap()).unwrap(),
            timed
        );
        for bad in [
            json!({"mode":"warp"}),
            json!({"mode":"instant","x":1}),
            json!({"mode":"render","processing_after":1}),
            json!("polls"),
            json!({"mode":"timed","processing_after_ms":9,"complete_after_ms":5}),
            json!({"mode":"timed","processing_after_ms":-1,"complete_after_ms":5}),
            json!({"mode":"polls","processing_after":0,"complete_after":5}),
            json!({"mode":"polls","processing_after":2}),
            json!("timed"),
            json!(7),
        ] {
            assert!(Lifecycle::from_json(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn outcomes_refuse_contradictions() {
        assert!(Outcome::from_json(&json!({"result":"fail","reason":"no face"})).is_ok());
        for bad in [
            json!({"result":"explode"}),
            json!({"result":"succeed","reason":"why"}),
            json!({"result":"fail","after_ms":1,"after_polls":1}),
            json!({"result":"fail","after_polls":0}),
            json!({"result":"fail","after_ms":-5}),
            json!({"result":"fail","reason":" "}),
            json!({}),
        ] {
            assert!(Outcome::from_json(&bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn render_without_outcome_is_not_scripted() {
        assert_eq!(Script::plan(&Lifecycle::Render, None, 0), None);
        let fail = Outcome {
            result: Ending::Fail,
            ..Outcome::default()
        };
        let script = Script::plan(&Lifecycle::Render, Some(&fail), 0).unwrap();
        assert_eq!(script.timing, Timing::AtOnce);
        // Due at once for the background loop too: a crash after the create commits strands
        // nothing.
        assert_eq!(
            script.due_at(VideoStatus::Queued, 5),
            Some(5 + AT_ONCE_RECOVERY_MS)
        );
        assert_eq!(
            script.due_at(VideoStatus::Processing, 9),
            Some(9 + AT_ONCE_RECOVERY_MS)
        );
        assert_eq!(
            script.due_step(VideoStatus::Processing, 0, 0),
            Some(Step::Fail(DEFAULT_FAIL_REASON.into()))
        );
    }

    #[test]
    fn timed_steps_wait_for_the_clock() {
        let lifecycle = Lifecycle::Timed {
            processing_after_ms: 100,
            complete_after_ms: 300,
        };
        let script = Script::plan(&lifecycle, None, 1_000).unwrap();
        assert_eq!(script.due_step(VideoStatus::Queued, 0, 1_099), None);
        assert_eq!(
            script.due_step(VideoStatus::Queued, 0, 1_100),
            Some(Step::Start)
        );
        assert_eq!(script.due_at(VideoStatus::Processing, 1_100), Some(1_300));
        assert_eq!(script.due_step(VideoStatus::Processing, 0, 1_299), None);
        assert_eq!(
            script.due_step(VideoStatus::Processing, 0, 1_300),
            Some(Step::Complete)
        );
        assert_eq!(script.due_step(VideoStatus::Completed, 0, 9_999), None);
    }

    #[test]
    fn polls_steps_count_and_outcome_timing_wins() {
        let lifecycle = Lifecycle::Polls {
            processing_after: 2,
            complete_after: 4,
        };
        let script = Script::plan(&lifecycle, None, 0).unwrap();
        assert_eq!(script.due_step(VideoStatus::Queued, 1, 0), None);
        assert_eq!(
            script.due_step(VideoStatus::Queued, 2, 0),
            Some(Step::Start)
        );
        assert_eq!(script.due_step(VideoStatus::Processing, 3, 0), None);
        assert_eq!(
            script.due_step(VideoStatus::Processing, 4, 0),
            Some(Step::Complete)
        );
        let stuck_later = Outcome {
            result: Ending::Stuck,
            after_ms: Some(50),
            ..Outcome::default()
        };
        let script = Script::plan(&lifecycle, Some(&stuck_later), 10).unwrap();
        assert_eq!(
            script.due_step(VideoStatus::Queued, 0, 10),
            Some(Step::Start)
        );
        assert_eq!(script.due_step(VideoStatus::Processing, 0, 99), None);
        assert_eq!(script.due_at(VideoStatus::Processing, 10), None);
        assert_eq!(
            script.advance_step(VideoStatus::Processing),
            Some(Step::Complete)
        );
    }

    #[test]
    fn manual_moves_only_when_advanced() {
        let script = Script::plan(&Lifecycle::Manual, None, 0).unwrap();
        assert_eq!(script.due_step(VideoStatus::Queued, 99, i64::MAX), None);
        assert_eq!(script.due_at(VideoStatus::Queued, 0), None);
        assert_eq!(script.advance_step(VideoStatus::Queued), Some(Step::Start));
        assert_eq!(
            script.advance_step(VideoStatus::Processing),
            Some(Step::Complete)
        );
        assert_eq!(script.advance_step(VideoStatus::Completed), None);
        let stored = script.to_json();
        assert_eq!(Script::parse_stored(&stored), Some(script));
    }
}
