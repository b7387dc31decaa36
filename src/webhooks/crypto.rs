//! Akool's callback encryption and signature (spec §12.4), byte for byte:
//! AES-CBC with PKCS#7 padding, key = the clientSecret's bytes (AES-128/192/256 by length),
//! IV = the first 16 bytes of the clientId (NUL-padded when shorter), Base64 output; signature =
//! lower-case hex SHA-1 of the four values (clientId, timestamp, nonce, dataEncrypt) sorted as
//! strings and concatenated.

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;
use sha1::{Digest, Sha1};

/// The plaintext of a callback, fields in Akool's order.
#[derive(Debug, Serialize, PartialEq)]
pub struct CallbackPayload<'a> {
    pub _id: &'a str,
    pub status: i64,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub url: &'a str,
}

/// The outer callback body.
#[derive(Debug, Serialize, PartialEq)]
pub struct SignedCallback {
    pub signature: String,
    #[serde(rename = "dataEncrypt")]
    pub data_encrypt: String,
    pub timestamp: i64,
    pub nonce: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the client secret is {0} bytes long; AES needs 16, 24 or 32")]
pub struct BadKeyLength(pub usize);

fn iv_from(client_id: &str) -> [u8; 16] {
    let mut iv = [0u8; 16];
    let bytes = client_id.as_bytes();
    let n = bytes.len().min(16);
    iv[..n].copy_from_slice(&bytes[..n]);
    iv
}

pub fn encrypt(
    client_id: &str,
    client_secret: &str,
    plaintext: &[u8],
) -> Result<String, BadKeyLength> {
    let key = client_secret.as_bytes();
    let iv = iv_from(client_id);
    let sealed = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new(key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        24 => cbc::Encryptor::<aes::Aes192>::new(key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        32 => cbc::Encryptor::<aes::Aes256>::new(key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        other => return Err(BadKeyLength(other)),
    };
    Ok(B64.encode(sealed))
}

pub fn signature(client_id: &str, timestamp: i64, nonce: &str, data_encrypt: &str) -> String {
    let timestamp = timestamp.to_string();
    let mut parts = [client_id, timestamp.as_str(), nonce, data_encrypt];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

/// Encrypts and signs `payload` for the account `client_id`/`client_secret`.
pub fn sign(
    client_id: &str,
    client_secret: &str,
    payload: &CallbackPayload<'_>,
    timestamp: i64,
    nonce: &str,
) -> Result<SignedCallback, BadKeyLength> {
    let plaintext = serde_json::to_vec(payload).expect("the payload always serializes");
    let data_encrypt = encrypt(client_id, client_secret, &plaintext)?;
    Ok(SignedCallback {
        signature: signature(client_id, timestamp, nonce, &data_encrypt),
        data_encrypt,
        timestamp,
        nonce: nonce.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockDecryptMut;
    use proptest::prelude::*;

    const CLIENT_ID: &str = "65f0c0ffee0123456789abcd";

    #[test]
    fn vector_a_aes_192() {
        let payload = CallbackPayload {
            _id: "6650aa11bb22cc33dd44ee55",
            status: 3,
            kind: "image2video",
            url: "https://cdn.example.com/out/6650aa11bb22cc33dd44ee55.mp4",
        };
        let signed = sign(
            CLIENT_ID,
            "TestSecretKey24CharsLong",
            &payload,
            1754377293090,
            "4821",
        )
        .unwrap();
        assert_eq!(
            signed.data_encrypt,
            "qt9yzCGZPYAbDa2/+WTqFwTKlo7QN2TCSmqEzIBaY/1bXuklpDFkDaeW20PcS4/rOphJMfCRdeEq9RxSCs4CafoMwMSqcEobAMk3UfFvNeimqDDxL61ajNuO1hSr7hOpIL97FTnNUAcgptiKVtWCzmaRVsIZL6qhpkVDdAG2/TxABRkh1ZOYz4Q8taNLk/7W"
        );
        assert_eq!(signed.signature, "7120c3fd15345824c021da7ac8780464d118f577");
        let body = serde_json::to_value(&signed).unwrap();
        assert_eq!(body["timestamp"], 1754377293090i64);
        assert_eq!(body["nonce"], "4821");
        assert!(body.get("dataEncrypt").is_some());
    }

    #[test]
    fn vector_b_aes_256() {
        let payload = CallbackPayload {
            _id: "6650aa11bb22cc33dd44ee55",
            status: 4,
            kind: "image2video",
            url: "",
        };
        let signed = sign(
            CLIENT_ID,
            "TestSecretKey-32-characters-long",
            &payload,
            1754377300000,
            "77",
        )
        .unwrap();
        assert_eq!(
            signed.data_encrypt,
            "qgGbQj0tTvRK0SGmihOPBPg3n6TKJFStYhyfO6Y9DA9rvTlkmlZZcFcY1KBJZyOEz5WagjxkPn393pLXInUTq9pkUO8lzDITIZ/4+vh0ADg="
        );
        assert_eq!(signed.signature, "2e205fdb13fabe4cb245557bd97695c952be5b10");
    }

    #[test]
    fn other_key_lengths_are_refused() {
        assert_eq!(encrypt(CLIENT_ID, "short", b"x"), Err(BadKeyLength(5)));
    }

    proptest! {
        #[test]
        fn decrypting_gives_back_the_plaintext(
            secret in prop_oneof!["[a-zA-Z0-9]{16}", "[a-zA-Z0-9]{24}", "[a-zA-Z0-9]{32}"],
            client_id in "[0-9a-f]{8,30}",
            plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let sealed = B64.decode(encrypt(&client_id, &secret, &plaintext).unwrap()).unwrap();
            prop_assert_eq!(sealed.len() % 16, 0);
            let iv = iv_from(&client_id);
            let key = secret.as_bytes();
            let opened = match key.len() {
                16 => cbc::Decryptor::<aes::Aes128>::new(key.into(), &iv.into()).decrypt_padded_vec_mut::<Pkcs7>(&sealed),
                24 => cbc::Decryptor::<aes::Aes192>::new(key.into(), &iv.into()).decrypt_padded_vec_mut::<Pkcs7>(&sealed),
                _ => cbc::Decryptor::<aes::Aes256>::new(key.into(), &iv.into()).decrypt_padded_vec_mut::<Pkcs7>(&sealed),
            }
            .unwrap();
            prop_assert_eq!(opened, plaintext);
        }
    }
}
