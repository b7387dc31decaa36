//! Accounts and their credentials, for the CLI and the admin API.

use serde::Serialize;
use utoipa::ToSchema;

use super::ServiceError;
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::ObjectId;
use crate::keys::{hash_secret, new_client_secret};
use crate::store::{Account, NewAccount};

pub const MAX_NAME_CHARS: usize = 200;

/// A new account with the only copy of its secret the operator will ever see in plain text.
#[derive(Debug, Clone)]
pub struct IssuedAccount {
    pub account: Account,
    pub client_id: String,
    pub client_secret: String,
}

impl IssuedAccount {
    /// What the operator is shown, the same on the CLI and from the admin API.
    pub fn view(&self) -> IssuedAccountView {
        IssuedAccountView {
            uid: self.account.uid,
            team_id: self.account.team_id.clone(),
            name: self.account.name.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            credits: self.account.credits,
        }
    }
}

/// A new account; `clientSecret` (the API key) is shown only here.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountIssued)]
pub struct IssuedAccountView {
    pub uid: i64,
    pub team_id: String,
    pub name: String,
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(rename = "clientSecret")]
    pub client_secret: String,
    pub credits: i64,
}

pub async fn create(app: &App, name: &str, credits: i64) -> Result<IssuedAccount, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::InvalidParam(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if credits < 0 {
        return Err(ServiceError::InvalidParam(
            "credits must not be negative".into(),
        ));
    }
    let now = now_ms();
    let secs = (now / 1000) as u64;
    let client_id = ObjectId::generate(secs).to_hex();
    let client_secret = new_client_secret();
    let account = app
        .store
        .create_account(NewAccount {
            name: name.to_owned(),
            credits,
            team_id: ObjectId::generate(secs).to_hex(),
            client_id: client_id.clone(),
            secret_hash: hash_secret(&client_secret),
            sealed_secret: app.keys.seal(&client_secret),
            created_at: now,
        })
        .await?;
    tracing::info!(uid = account.uid, "account created");
    Ok(IssuedAccount {
        account,
        client_id,
        client_secret,
    })
}

/// Bans or unbans; a ban turns every key and token of the account away at once (1200).
/// False when there is no such account.
pub async fn set_banned(app: &App, uid: i64, banned: bool) -> Result<bool, ServiceError> {
    let changed = app.store.set_banned(uid, banned).await?;
    app.auth_cache.clear();
    if changed {
        tracing::info!(uid, banned, "account ban changed");
    }
    Ok(changed)
}

/// Issues a new secret; the old API key and every token issued for it stop working at once.
pub async fn rotate_secret(app: &App, uid: i64) -> Result<String, ServiceError> {
    let secret = new_client_secret();
    let rotated = app
        .store
        .rotate_secret(uid, &hash_secret(&secret), &app.keys.seal(&secret))
        .await?;
    if !rotated {
        return Err(ServiceError::NotFound(format!("no account with uid {uid}")));
    }
    app.auth_cache.clear();
    tracing::info!(uid, "client secret rotated");
    Ok(secret)
}
