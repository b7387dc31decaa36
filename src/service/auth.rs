//! Who is calling: API keys (`x-api-key`), bearer tokens from getToken, and issuing tokens.

use super::{Caller, ServiceError};
use crate::app::App;
use crate::auth_cache::Credential;
use crate::clock::now_ms;
use crate::keys::{hash_secret, secret_version, TokenClaims};
use crate::store::AuthRecord;

/// The caller a known credential names, unless its account is banned.
pub fn admit(record: AuthRecord) -> Result<Caller, ServiceError> {
    if record.banned {
        return Err(ServiceError::Banned);
    }
    Ok(Caller {
        uid: record.uid,
        team_id: record.team_id,
    })
}

/// The credential's record, from the cache or else the store (then cached).
async fn record_of(app: &App, credential: Credential) -> Result<Option<AuthRecord>, ServiceError> {
    if let Some(record) = app.auth_cache.get(&credential) {
        return Ok(Some(record));
    }
    let ticket = app.auth_cache.ticket();
    let record = match &credential {
        Credential::KeyHash(hash) => app.store.auth_by_key_hash(hash).await?,
        Credential::Uid(uid) => app.store.auth_by_uid(*uid).await?,
    };
    if let Some(record) = &record {
        app.auth_cache.remember(ticket, credential, record.clone());
    }
    Ok(record)
}

pub async fn by_api_key(app: &App, key: &str) -> Result<Caller, ServiceError> {
    admit(identify_by_api_key(app, key).await?)
}

/// The account an API key belongs to, banned or not.
pub async fn identify_by_api_key(app: &App, key: &str) -> Result<AuthRecord, ServiceError> {
    record_of(app, Credential::KeyHash(hash_secret(key.trim())))
        .await?
        .ok_or(ServiceError::UnknownKey)
}

/// The account a bearer token was issued to, banned or not, if the token is still good.
pub async fn identify_by_bearer(app: &App, token: &str) -> Result<AuthRecord, ServiceError> {
    let now_secs = (now_ms() / 1000) as u64;
    // An account's clock is never behind the server's: a token expired here is expired there.
    let claims = app
        .keys
        .verify_token(token, now_secs)
        .map_err(|_| ServiceError::BadToken)?;
    match record_of(app, Credential::Uid(claims.uid)).await? {
        // A token outlives neither its account nor the secret it was issued for, and expires by
        // the account's clock (emulator controls).
        Some(record)
            if secret_version(&record.secret_hash) == claims.sv
                && record.client_id == claims.cid
                && claims.exp > account_secs(&record) =>
        {
            Ok(record)
        }
        _ => Err(ServiceError::BadToken),
    }
}

/// `getToken`: exchanges clientId + clientSecret for a signed, expiring bearer token.
pub async fn issue_token(
    app: &App,
    client_id: &str,
    client_secret: &str,
) -> Result<String, ServiceError> {
    let record = identify_by_client(app, client_id, client_secret).await?;
    if record.banned {
        return Err(ServiceError::Banned);
    }
    let iat = account_secs(&record);
    let claims = TokenClaims {
        uid: record.uid,
        cid: record.client_id.clone(),
        sv: secret_version(&record.secret_hash),
        iat,
        exp: iat + app.config.tokens.ttl.as_secs(),
    };
    Ok(app.keys.issue_token(&claims))
}

/// The account a clientId + clientSecret pair belongs to, banned or not.
pub async fn identify_by_client(
    app: &App,
    client_id: &str,
    client_secret: &str,
) -> Result<AuthRecord, ServiceError> {
    app.store
        .auth_by_client_id(client_id)
        .await?
        .filter(|r| r.secret_hash == hash_secret(client_secret))
        .ok_or(ServiceError::BadClientCredentials)
}

/// The account's clock in epoch seconds.
fn account_secs(record: &AuthRecord) -> u64 {
    (now_ms().saturating_add(record.clock_offset_ms) / 1000).max(0) as u64
}
