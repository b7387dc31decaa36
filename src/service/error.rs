//! Every way a use-case can refuse. `api::error` maps each variant to its Akool code.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Authorization cannot be empty")]
    NoCredentials,
    #[error("Invalid authorization or The request token has expired")]
    BadToken,
    #[error("Invalid API key: account not exist")]
    UnknownKey,
    #[error("The account has been banned")]
    Banned,
    #[error("clientId or clientSecret is incorrect")]
    BadClientCredentials,
    #[error("{0}")]
    InvalidParam(String),
    #[error("Insufficient credits: balance {balance}, this request needs {needed}")]
    InsufficientCredits { balance: i64, needed: i64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    CannotOperate(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InsufficientCredits { balance, needed } => {
                ServiceError::InsufficientCredits { balance, needed }
            }
            StoreError::NoSuchAccount(uid) => {
                ServiceError::NotFound(format!("no account with uid {uid}"))
            }
            StoreError::Backend(source) => ServiceError::Internal(source.to_string()),
        }
    }
}
