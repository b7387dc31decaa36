//! An operator using the emulator controls (issue #12) on the emulated accounts while the load
//! runs and the server gets killed: moves account clocks forward (a few seconds at a time, far
//! from the retention period) and now and then resets an account. The record learns which ids
//! an answered reset removed (they must be gone) and which it may have (a lost answer, or a
//! create that raced it).

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::load::Load;
use super::{ADMIN_TOKEN, GRANT};

/// Tries of the lifecycle a reset cleared, 100 ms apart: longer than any restart takes.
const LIFECYCLE_ATTEMPTS: u32 = 600;

impl Load {
    /// (resets waiting for their answer, resets sent) for `uid`.
    pub fn resets_around(&self, uid: i64) -> (u64, u64) {
        let r = self.record.lock().unwrap();
        let open = r.resets_open.get(&uid).copied().unwrap_or(0);
        (open, r.resets_sent.get(&uid).copied().unwrap_or(0))
    }

    pub async fn operator(self: Arc<Self>, seed: u64, stop: CancellationToken) {
        let mut rng = StdRng::seed_from_u64(seed);
        let emulated: Vec<_> = self
            .accounts
            .iter()
            .filter(|a| a.lifecycle.is_some())
            .cloned()
            .collect();
        while !stop.is_cancelled() {
            let pause = Duration::from_millis(rng.random_range(200..800));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
            let Some(account) = emulated.choose(&mut rng) else {
                return;
            };
            if rng.random_bool(0.2) {
                self.reset(account.uid, account.lifecycle.clone()).await;
            } else {
                let ms = rng.random_range(0..3000);
                let path = format!("accounts/{}/clock/advance", account.uid);
                if let Some(answer) = self.admin(&path, json!({ "ms": ms })).await {
                    self.expect_ok("clock advance", &answer);
                    self.record.lock().unwrap().clock_moves += 1;
                }
            }
        }
    }

    async fn reset(&self, uid: i64, lifecycle: Option<Value>) {
        let stored: Vec<String> = {
            let mut r = self.record.lock().unwrap();
            *r.resets_sent.entry(uid).or_default() += 1;
            *r.resets_open.entry(uid).or_default() += 1;
            r.created
                .iter()
                .filter(|(id, owner)| **owner == uid && !r.maybe_deleted.contains(*id))
                .map(|(id, _)| id.clone())
                .collect()
        };
        let answer = self
            .admin(&format!("accounts/{uid}/reset"), json!({}))
            .await;
        {
            let mut r = self.record.lock().unwrap();
            match &answer {
                Some(a) if a["code"] == 1000 => {
                    r.resets += 1;
                    r.reset_gone.extend(stored);
                    if a["data"]["credits"] != GRANT {
                        r.violations
                            .push(format!("reset did not restore the grant {GRANT}: {a}"));
                    }
                }
                _ => r.maybe_deleted.extend(stored),
            }
        }
        if let Some(answer) = answer {
            self.expect_ok("reset", &answer);
        }
        // A reset puts the lifecycle back to the default: the account keeps its mode. The server
        // may be killed between the reset and this, so it is sent until it is answered (the
        // server always comes back); till then creates count as racing the reset.
        if let Some(lifecycle) = lifecycle {
            let path = format!("accounts/{uid}/lifecycle");
            let mut restored = false;
            for _ in 0..LIFECYCLE_ATTEMPTS {
                if let Some(answer) = self.admin_put(&path, lifecycle.clone()).await {
                    self.expect_ok("set lifecycle", &answer);
                    restored = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !restored {
                self.record.lock().unwrap().violations.push(format!(
                    "account {uid}: lifecycle not answered after {LIFECYCLE_ATTEMPTS} tries"
                ));
            }
        }
        // Until the mode is back, a create may render: it counts as racing the reset.
        *self
            .record
            .lock()
            .unwrap()
            .resets_open
            .entry(uid)
            .or_default() -= 1;
    }

    fn expect_ok(&self, what: &str, answer: &Value) {
        if answer["code"] != 1000 {
            self.record
                .lock()
                .unwrap()
                .violations
                .push(format!("{what} refused: {answer}"));
        }
    }

    /// POST to the admin API; `None` when the answer was lost (the server was killed).
    async fn admin(&self, path: &str, body: Value) -> Option<Value> {
        let sent = self
            .http
            .post(format!("{}/_admin/v1/{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await;
        sent.ok()?.json().await.ok()
    }

    async fn admin_put(&self, path: &str, body: Value) -> Option<Value> {
        let sent = self
            .http
            .put(format!("{}/_admin/v1/{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await;
        sent.ok()?.json().await.ok()
    }
}
