//! The server's master key and what it protects: client secrets are sealed with it at rest
//! (webhooks need them back, so a one-way hash alone would not do) and bearer tokens are signed
//! with a key derived from it. API keys are looked up by their SHA-256, never by their value.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub struct Keys {
    cipher: Aes256Gcm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master_key must be 64 hex digits (32 bytes)")]
    BadMasterKey,
    #[error("cannot read or create the master key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("a sealed secret could not be opened (was the master key changed?)")]
    Unseal,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed or forged token")]
    Invalid,
    #[error("token expired")]
    Expired,
}

/// What a bearer token says. `sv` pins the secret it was issued for, so rotating the secret
/// revokes every token issued before.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenClaims {
    pub uid: i64,
    pub cid: String,
    pub sv: String,
    pub iat: u64,
    pub exp: u64,
}

impl Keys {
    /// Uses `configured` (hex) when given, else `<data_dir>/master.key`, created on first use.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Keys, KeyError> {
        let hex_key = match configured {
            Some(k) => k.trim().to_owned(),
            None => read_or_create_key_file(&data_dir.join("master.key"))?,
        };
        let mut master = [0u8; 32];
        hex::decode_to_slice(hex_key.as_bytes(), &mut master)
            .map_err(|_| KeyError::BadMasterKey)?;
        Ok(Keys::from_master(&master))
    }

    pub fn from_master(master: &[u8; 32]) -> Keys {
        let signing = Sha256::new()
            .chain_update(b"i2v token signing v1")
            .chain_update(master)
            .finalize();
        Keys {
            cipher: Aes256Gcm::new_from_slice(master).expect("32-byte key"),
            encoding: EncodingKey::from_secret(&signing).expect("an HMAC key of 32 bytes"),
            decoding: DecodingKey::from_secret(&signing).expect("an HMAC key of 32 bytes"),
        }
    }

    pub fn seal(&self, secret: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce_bytes), secret.as_bytes())
            .expect("AES-GCM encryption does not fail for in-memory data");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        B64.encode(out)
    }

    pub fn unseal(&self, sealed: &str) -> Result<String, KeyError> {
        let raw = B64.decode(sealed).map_err(|_| KeyError::Unseal)?;
        if raw.len() < 12 {
            return Err(KeyError::Unseal);
        }
        let (nonce, body) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| KeyError::Unseal)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| KeyError::Unseal)?;
        String::from_utf8(plain).map_err(|_| KeyError::Unseal)
    }

    pub fn issue_token(&self, claims: &TokenClaims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims does not fail")
    }

    pub fn verify_token(&self, token: &str, now_secs: u64) -> Result<TokenClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the caller's clock, with no leeway.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp".to_owned()].into_iter().collect();
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now_secs {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

/// SHA-256 hex of an API key: how keys are stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The short form of a secret hash that tokens carry (`sv`).
pub fn secret_version(secret_hash: &str) -> String {
    secret_hash.chars().take(16).collect()
}

/// A new API key: 32 alphanumeric characters (~190 bits), which is also a valid AES-256 key
/// for Akool's webhook encryption.
pub fn new_client_secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

fn read_or_create_key_file(path: &Path) -> Result<String, KeyError> {
    let file_err = |source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(file_err(e)),
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(file_err)?;
    }
    let key = hex::encode(rand::random::<[u8; 32]>());
    write_private(path, &key).map_err(file_err)?;
    // Another process may have won the race to create it; whatever is on disk is the key.
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_owned())
        .map_err(file_err)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(contents.as_bytes())?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_master(&[7u8; 32])
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_master_key() {
        let sealed = keys().seal("TestSecretKey-32-characters-long");
        assert!(!sealed.contains("TestSecretKey"));
        assert_eq!(
            keys().unseal(&sealed).unwrap(),
            "TestSecretKey-32-characters-long"
        );
        assert!(Keys::from_master(&[8u8; 32]).unseal(&sealed).is_err());
    }

    #[test]
    fn tokens_verify_expire_and_reject_tampering() {
        let claims = TokenClaims {
            uid: 101,
            cid: "c".into(),
            sv: "v".into(),
            iat: 100,
            exp: 200,
        };
        let token = keys().issue_token(&claims);
        assert_eq!(keys().verify_token(&token, 150), Ok(claims));
        assert_eq!(keys().verify_token(&token, 200), Err(TokenError::Expired));
        assert_eq!(
            Keys::from_master(&[8u8; 32]).verify_token(&token, 150),
            Err(TokenError::Invalid)
        );
        let mut forged = token.clone();
        forged.pop();
        assert_eq!(keys().verify_token(&forged, 150), Err(TokenError::Invalid));
        assert_eq!(
            keys().verify_token("not a token", 150),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = read_or_create_key_file(&dir.path().join("master.key")).unwrap();
        let second = read_or_create_key_file(&dir.path().join("master.key")).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
    }

    #[test]
    fn new_secrets_are_32_alphanumeric_characters_and_differ() {
        let a = new_client_secret();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, new_client_secret());
    }
}
