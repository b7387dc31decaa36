//! Webhook faults (admin API): the effect an account's rules give one callback. It is decided
//! once per delivery, before its first attempt, and kept on the delivery, so retries carry the
//! same fault and the rules' `next` counts and seeded draws advance once per callback.

use crate::app::App;
use crate::clock::now_ms;
use crate::domain::faults::WebhookEffect;
use crate::domain::VideoStatus;
use crate::store::{FaultKind, FaultStep, WebhookDelivery};

/// How a faulted callback's request differs from a faithful one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tamper {
    /// POSTed twice, the same signed body both times.
    pub duplicate: bool,
    /// The signature does not verify.
    pub bad_signature: bool,
    /// Signed over a timestamp an hour old.
    pub stale_timestamp: bool,
}

/// How old a `stale_timestamp` callback's timestamp is.
pub const STALE_BY_MS: i64 = 3_600_000;

impl Tamper {
    fn of(effect: &WebhookEffect) -> Tamper {
        Tamper {
            duplicate: *effect == WebhookEffect::Duplicate,
            bad_signature: *effect == WebhookEffect::BadSignature,
            stale_timestamp: *effect == WebhookEffect::StaleTimestamp,
        }
    }
}

/// The delivery's fault, decided (and recorded) if it is its first attempt. `None` when it is
/// not to be sent now: dropped, postponed or held.
pub(super) async fn prepare(app: &App, d: &WebhookDelivery) -> anyhow::Result<Option<Tamper>> {
    // Decided earlier: a postponement or a hold has been served; what changes the request stays.
    if let Some(stored) = &d.fault {
        return Ok(Some(
            effect_of(stored).map_or_else(Tamper::default, |e| Tamper::of(&e)),
        ));
    }
    // A callback turned off by configuration takes no fault: it is not sent at all.
    let turned_off =
        d.video_status == VideoStatus::Processing && !app.config.webhooks.on_processing;
    if d.attempts > 0 || !d.account_faults || turned_off {
        return Ok(Some(Tamper::default()));
    }
    let subject = d.video_status.code().to_string();
    let Some(raw) = app
        .store
        .take_fault(d.uid, FaultKind::Webhook, &subject)
        .await?
    else {
        return Ok(Some(Tamper::default()));
    };
    let stored = raw.to_string();
    let Some(effect) = effect_of(&stored) else {
        return Ok(Some(Tamper::default()));
    };
    let now = now_ms();
    let step = match effect {
        WebhookEffect::Drop => FaultStep::Drop,
        WebhookEffect::Delay { ms } => FaultStep::Postpone(now + ms as i64),
        // Only a status-2 callback has a final one to come after; a final one is sent as usual.
        WebhookEffect::Reorder if d.video_status == VideoStatus::Processing => FaultStep::Hold,
        _ => FaultStep::Send,
    };
    app.store.fault_webhook(d.id, &stored, step, now).await?;
    tracing::info!(video = %d.video_id, status = d.video_status.code(), fault = %stored, "webhook fault applied");
    Ok((step == FaultStep::Send).then(|| Tamper::of(&effect)))
}

fn effect_of(stored: &str) -> Option<WebhookEffect> {
    let parsed = serde_json::from_str(stored)
        .ok()
        .and_then(|raw| WebhookEffect::parse(&raw).ok());
    if parsed.is_none() {
        tracing::warn!(fault = %stored, "a stored webhook fault does not read; sent as is");
    }
    parsed
}

/// A signature with its first hex digit changed: it no longer verifies, and still looks right.
pub fn spoil(signature: &str) -> String {
    let mut chars = signature.chars();
    match chars.next() {
        Some(first) => {
            let other = if first == '0' { '1' } else { '0' };
            std::iter::once(other).chain(chars).collect()
        }
        None => "0".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spoiled_signature_differs_in_one_digit_only() {
        let good = "7120c3fd15345824c021da7ac8780464d118f577";
        let bad = spoil(good);
        assert_ne!(bad, good);
        assert_eq!(bad.len(), good.len());
        assert_eq!(bad[1..], good[1..]);
        assert_eq!(spoil("0abc"), "1abc");
    }

    #[test]
    fn only_request_changing_effects_tamper() {
        assert!(Tamper::of(&WebhookEffect::Duplicate).duplicate);
        assert!(Tamper::of(&WebhookEffect::BadSignature).bad_signature);
        assert!(Tamper::of(&WebhookEffect::StaleTimestamp).stale_timestamp);
        assert_eq!(Tamper::of(&WebhookEffect::Reorder), Tamper::default());
        assert_eq!(
            Tamper::of(&WebhookEffect::Delay { ms: 5 }),
            Tamper::default()
        );
    }
}
