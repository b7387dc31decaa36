//! The outside world of the server under test, on loopback: an image host and a webhook
//! receiver that checks each callback's signature and decrypts it on its own, as a receiver
//! written from Akool's documentation would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use tokio::net::TcpListener;

/// Serves one PNG at `<base>/image.png`; returns that URL.
pub async fn spawn_image_host() -> anyhow::Result<String> {
    let image = image::RgbImage::from_fn(640, 360, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png)?;
    let png = bytes::Bytes::from(png.into_inner());
    let router = Router::new().route(
        "/image.png",
        get(move || {
            let png = png.clone();
            async move { ([("content-type", "image/png")], png) }
        }),
    );
    let base = serve(router).await?;
    Ok(format!("{base}/image.png"))
}

/// What the receiver has been told, per video: the statuses of the callbacks, in arrival order.
#[derive(Clone, Default)]
pub struct Received {
    pub statuses: HashMap<String, Vec<i64>>,
    /// Which account each video's callbacks came for (from the callback URL).
    pub owner: HashMap<String, i64>,
    /// Callbacks whose signature did not verify or that did not decrypt.
    pub bad: Vec<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    keys: Arc<Mutex<HashMap<i64, (String, String)>>>,
    pub received: Arc<Mutex<Received>>,
    calls: Arc<AtomicU64>,
}

impl Receiver {
    /// The callback URL for an account's videos.
    pub fn url_for(&self, uid: i64) -> String {
        format!("{}/hook/{uid}", self.base)
    }

    /// The account's clientId and clientSecret, to verify and decrypt its callbacks.
    pub fn register(&self, uid: i64, client_id: &str, client_secret: &str) {
        self.keys
            .lock()
            .unwrap()
            .insert(uid, (client_id.to_owned(), client_secret.to_owned()));
    }
}

/// Starts the receiver. Every `fail_every`-th call is answered 503, so retries happen too.
pub async fn spawn_receiver(fail_every: u64) -> anyhow::Result<Receiver> {
    let mut receiver = Receiver {
        base: String::new(),
        keys: Arc::default(),
        received: Arc::default(),
        calls: Arc::default(),
    };
    let router =
        Router::new()
            .route(
                "/hook/{uid}",
                post(
                    move |State(r): State<Receiver>,
                          Path(uid): Path<i64>,
                          Json(body): Json<Value>| async move {
                        let n = r.calls.fetch_add(1, Ordering::Relaxed) + 1;
                        if fail_every > 0 && n % fail_every == 0 {
                            return StatusCode::SERVICE_UNAVAILABLE;
                        }
                        r.accept(uid, &body);
                        StatusCode::OK
                    },
                ),
            )
            .with_state(receiver.clone());
    receiver.base = serve(router).await?;
    Ok(receiver)
}

impl Receiver {
    fn accept(&self, uid: i64, body: &Value) {
        let keys = self.keys.lock().unwrap().get(&uid).cloned();
        let opened = keys
            .ok_or_else(|| format!("callback for unknown account {uid}"))
            .and_then(|(id, secret)| open(body, &id, &secret));
        let mut received = self.received.lock().unwrap();
        match opened {
            Ok(payload) => {
                let video = payload["_id"].as_str().unwrap_or_default().to_owned();
                let status = payload["status"].as_i64().unwrap_or(-1);
                received.owner.insert(video.clone(), uid);
                received.statuses.entry(video).or_default().push(status);
            }
            Err(why) => received.bad.push(why),
        }
    }
}

/// Checks the signature, then decrypts `dataEncrypt` (AES-CBC, key = secret, IV = clientId).
fn open(body: &Value, client_id: &str, client_secret: &str) -> Result<Value, String> {
    let data = body["dataEncrypt"].as_str().ok_or("no dataEncrypt")?;
    let nonce = body["nonce"].as_str().ok_or("no nonce")?;
    let timestamp = body["timestamp"].as_i64().ok_or("no timestamp")?;
    let expected = i2v::webhooks::crypto::signature(client_id, timestamp, nonce, data);
    if body["signature"].as_str() != Some(expected.as_str()) {
        return Err(format!("bad signature in {body}"));
    }
    let sealed = B64
        .decode(data)
        .map_err(|e| format!("dataEncrypt is not Base64: {e}"))?;
    let mut iv = [0u8; 16];
    let id = client_id.as_bytes();
    iv[..id.len().min(16)].copy_from_slice(&id[..id.len().min(16)]);
    let key = client_secret.as_bytes();
    if key.len() != 32 {
        return Err(format!("unexpected secret length {}", key.len()));
    }
    let plain = cbc::Decryptor::<aes::Aes256>::new(key.into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&sealed)
        .map_err(|_| "does not decrypt".to_owned())?;
    serde_json::from_slice(&plain).map_err(|e| format!("decrypted payload is not JSON: {e}"))
}

async fn serve(router: Router) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("campaign fixture server stopped: {e}");
        }
    });
    Ok(base)
}
