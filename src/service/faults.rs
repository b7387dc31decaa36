//! Fault rules per account (admin API): `Api` for the Akool routes (applied by the API's
//! intercept layer), `Webhook` for the account's callbacks (applied by the delivery loop).

use super::ServiceError;
use crate::app::App;
use crate::domain::faults::FaultSet;
use crate::store::{FaultKind, StoreError};

fn no_account(uid: i64) -> ServiceError {
    ServiceError::NotFound(format!("no account with uid {uid}"))
}

fn unreadable(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("stored fault rules are not readable: {e}"))
}

/// The account's rules of `kind` with what is left of their counts; `None` when it has none.
pub async fn faults(
    app: &App,
    uid: i64,
    kind: FaultKind,
) -> Result<Option<FaultSet>, ServiceError> {
    match app.store.faults(uid, kind).await? {
        None => Err(no_account(uid)),
        Some(None) => Ok(None),
        Some(Some(stored)) => FaultSet::parse_stored(&stored)
            .map(Some)
            .ok_or_else(|| unreadable(stored)),
    }
}

/// Replaces the account's rules of `kind`; counts and draws start afresh.
pub async fn set_faults(
    app: &App,
    uid: i64,
    kind: FaultKind,
    set: &FaultSet,
) -> Result<(), ServiceError> {
    store_set(app, uid, kind, Some(&set.to_stored())).await
}

pub async fn clear_faults(app: &App, uid: i64, kind: FaultKind) -> Result<(), ServiceError> {
    store_set(app, uid, kind, None).await
}

async fn store_set(
    app: &App,
    uid: i64,
    kind: FaultKind,
    stored: Option<&str>,
) -> Result<(), ServiceError> {
    if !app.store.set_faults(uid, kind, stored).await? {
        return Err(no_account(uid));
    }
    // Cached credentials say whether a request must look for API faults.
    app.auth_cache.clear();
    Ok(())
}

/// Removes both kinds of rules (an account reset).
pub async fn clear_all(app: &App, uid: i64) -> Result<(), StoreError> {
    for kind in [FaultKind::Api, FaultKind::Webhook] {
        app.store.set_faults(uid, kind, None).await?;
    }
    app.auth_cache.clear();
    Ok(())
}
