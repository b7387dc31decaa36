//! What a reset must leave behind (issue #12), checked on an account reset with everything
//! stopped: no video, no callback record, no queued outcome, the default lifecycle and clock,
//! and the balance back at the initial grant, equal to the ledger sum.

use std::collections::HashMap;

use i2v::domain::ObjectId;
use i2v::service::emulation;
use i2v::store::EmulationState;
use i2v::App;

use super::history::all_ok;

pub async fn reset_leaves_nothing(
    app: &App,
    uid: i64,
    grant: i64,
    owners: &HashMap<ObjectId, i64>,
) -> Result<(), String> {
    let done = emulation::reset(app, uid)
        .await
        .map_err(|e| e.to_string())?;
    let mut bad = Vec::new();
    if done.credits != grant {
        bad.push(format!(
            "reset answered credits {}, grant {grant}",
            done.credits
        ));
    }
    let store = &app.store;
    let text = |e: i2v::store::StoreError| e.to_string();
    let state = store.emulation(uid).await.map_err(text)?;
    let want = EmulationState {
        lifecycle: None,
        clock_offset_ms: 0,
        outcomes_queued: 0,
    };
    if state.as_ref() != Some(&want) {
        bad.push(format!("emulator state after reset: {state:?}"));
    }
    if !store
        .outcomes(uid)
        .await
        .map_err(text)?
        .is_some_and(|q| q.is_empty())
    {
        bad.push("outcome queue not empty after reset".into());
    }
    let balance = store.account(uid).await.map_err(text)?.map(|a| a.credits);
    let sum = store.ledger_sum(uid).await.map_err(text)?;
    if balance != Some(grant) || sum != grant {
        bad.push(format!(
            "balance {balance:?}, ledger sum {sum}, grant {grant}"
        ));
    }
    let ids: Vec<ObjectId> = owners
        .iter()
        .filter(|(_, o)| **o == uid)
        .map(|(id, _)| *id)
        .collect();
    for chunk in ids.chunks(100) {
        let rows = store.videos_by_ids(uid, chunk).await.map_err(text)?;
        bad.extend(rows.iter().map(|v| format!("{} left after reset", v.id)));
    }
    for id in &ids {
        let hex = id.to_hex();
        let left = store
            .webhook_deliveries(Some(&hex), 10)
            .await
            .map_err(text)?;
        if !left.is_empty() {
            bad.push(format!(
                "{hex} has {} callback record(s) after reset",
                left.len()
            ));
        }
    }
    all_ok(bad)
}
