//! Calls to the Akool API: one request with its retries. Network errors, HTTP 429/5xx and code
//! 2001 are retried with exponential backoff and jitter (or the server's `Retry-After`);
//! refused credentials and missing credits end the run; any other code is the request's answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::args::Connection;
use super::shown_url::{shown_url, shown_url_text};
use super::ClientError;

pub const GET_TOKEN: &str = "/api/open/v3/getToken";
pub const QUOTA: &str = "/api/open/v3/faceswap/quota/info";
pub const MODELS: &str = "/api/open/v4/aigModel/list?types[]=1501";
pub const EFFECTS: &str = "/api/open/v4/image2Video/effects";
pub const CREATE: &str = "/api/open/v4/image2Video/createBySourcePrompt";
pub const CREATE_BATCH: &str = "/api/open/v4/image2Video/createBySourcePrompt/batch";
pub const RESULTS: &str = "/api/open/v4/image2Video/resultsByIds";
pub const DELETE: &str = "/api/open/v4/image2Video/delbyids";

/// Akool codes that end the run at once: the key or token is refused, the account is banned,
/// or it has no credits left.
pub const FATAL_CODES: &[i64] = &[1101, 1102, 1104, 1109, 1200];
/// Akool's "server error, try again later".
pub const RETRY_CODE: i64 = 2001;
/// Longest wait for a `Retry-After`, and the cap of the doubling backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Clone)]
enum Auth {
    None,
    Key(String),
    Bearer(String),
}

/// The API at `base`, with the caller's credentials.
pub struct Api {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    attempts: u32,
    first_delay: Duration,
    /// Retries made so far (shown with the progress).
    pub retries: AtomicU64,
}

/// Why a request brought no usable answer.
#[derive(Debug)]
pub enum CallError {
    /// Credentials refused, account banned or out of credits: stop everything.
    Fatal { code: i64, msg: String },
    /// The server answered this code (not retried).
    Code { code: i64, msg: String },
    /// Nothing usable after every attempt, or after an attempt that must not be repeated.
    GaveUp(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Fatal { code, msg } | CallError::Code { code, msg } => {
                write!(f, "code {code}: {msg}")
            }
            CallError::GaveUp(why) => f.write_str(why),
        }
    }
}

impl From<CallError> for ClientError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Fatal { code, msg } => ClientError::Refused { code, msg },
            other => ClientError::Failed(other.to_string()),
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Answer(Value),
    /// Worth another try; `doubt` when the server may have applied the request.
    Retry {
        why: String,
        doubt: bool,
        after: Option<Duration>,
    },
    Stop(CallError),
}

/// A request's outcome, and whether an earlier attempt may have been applied by the server
/// without its answer reaching us (a dropped connection, a gateway 502/504, code 2001).
pub struct Reply {
    pub result: Result<Value, CallError>,
    pub doubt: bool,
}

impl Api {
    /// Connects with the credentials of `c`: the API key, or a token from getToken.
    pub async fn connect(c: &Connection) -> Result<Api, ClientError> {
        let mut api = Api::anonymous(c)?;
        api.auth = match (&c.api_key, &c.client_id, &c.client_secret) {
            (Some(key), _, _) if !key.is_empty() => Auth::Key(key.clone()),
            (_, Some(id), Some(secret)) => Auth::Bearer(api.token(id, secret).await?),
            _ => {
                return Err(ClientError::Usage(
                    "no credentials: give --api-key (AKOOL_API_KEY), or --client-id and \
                     --client-secret (AKOOL_CLIENT_ID, AKOOL_CLIENT_SECRET)"
                        .into(),
                ))
            }
        };
        Ok(api)
    }

    /// The API without credentials (for getToken).
    pub fn anonymous(c: &Connection) -> Result<Api, ClientError> {
        let base = url::Url::parse(&c.base_url).map_err(|e| {
            ClientError::Usage(format!("--base-url {}: {e}", shown_url_text(&c.base_url)))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(ClientError::Usage(format!(
                "--base-url {} must be an http(s) URL",
                shown_url(&base)
            )));
        }
        let timeout = Duration::from_secs_f64(c.timeout);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("i2v-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Failed(format!("HTTP client: {e}")))?;
        Ok(Api {
            http,
            base: base.as_str().trim_end_matches('/').to_owned(),
            auth: Auth::None,
            attempts: c.attempts,
            first_delay: Duration::from_millis(c.retry_delay_ms),
            retries: AtomicU64::new(0),
        })
    }

    /// getToken: a bearer token for `client_id` and `client_secret`.
    pub async fn token(&self, client_id: &str, client_secret: &str) -> Result<String, ClientError> {
        let body = json!({"clientId": client_id, "clientSecret": client_secret});
        let answer = self.post(GET_TOKEN, &body).await?;
        match answer.get("token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(token.to_owned()),
            _ => Err(ClientError::Failed(
                "getToken answered code 1000 without a token".into(),
            )),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, CallError> {
        self.call(Method::GET, path, None, true).await.result
    }

    /// POST of an idempotent request (results, delete, getToken): retried even when an
    /// earlier attempt may have been applied.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        self.call(Method::POST, path, Some(body), true).await.result
    }

    /// POST that tells whether an earlier attempt may have been applied (delete).
    pub async fn post_tracked(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(body), true).await
    }

    /// POST of a request that must not be applied twice (create): retried only when no
    /// earlier attempt can have reached the server's logic.
    pub async fn post_once(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        self.call(Method::POST, path, Some(body), false)
            .await
            .result
    }

    /// A GET of a video file's URL, without credentials (a path alone is on the API's host).
    pub fn download(&self, url: &str) -> reqwest::RequestBuilder {
        if url.starts_with('/') {
            self.http.get(format!("{}{url}", self.base))
        } else {
            self.http.get(url)
        }
    }

    /// Attempts per request (`--attempts`).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn backoff(&self, attempt: u32) -> Duration {
        backoff(attempt, self.first_delay, MAX_BACKOFF, &mut rand::rng())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Reply {
        let shown = path.split('?').next().unwrap_or(path);
        let mut doubt = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(method.clone(), path, body).await {
                Attempt::Answer(value) => {
                    return Reply {
                        result: Ok(value),
                        doubt,
                    }
                }
                Attempt::Stop(e) => {
                    return Reply {
                        result: Err(e),
                        doubt,
                    }
                }
                Attempt::Retry {
                    why,
                    doubt: maybe,
                    after,
                } => {
                    doubt |= maybe;
                    let why = format!("{method} {shown}: {why}");
                    if doubt && !idempotent {
                        return Reply {
                            result: Err(CallError::GaveUp(format!(
                                "{why}; not retried: the server may have applied it"
                            ))),
                            doubt,
                        };
                    }
                    if attempt >= self.attempts {
                        return Reply {
                            result: Err(CallError::GaveUp(format!(
                                "{why} (gave up after {attempt} attempts)"
                            ))),
                            doubt,
                        };
                    }
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = after.unwrap_or_else(|| self.backoff(attempt - 1));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, method: Method, path: &str, body: Option<&Value>) -> Attempt {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        request = match &self.auth {
            Auth::None => request,
            Auth::Key(key) => request.header("x-api-key", key),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    // A refused connection never reached the server; anything later may have.
                    doubt: !e.is_connect(),
                    why: network_error(&e),
                    after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = retry_after(&response);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry {
                    doubt: true,
                    why: network_error(&e),
                    after: None,
                }
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Attempt::Retry {
                // 429 and 503 say the request was not taken; 500, 502 and 504 do not.
                doubt: !matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                ),
                why: format!("HTTP {}", status.as_u16()),
                after: retry_after,
            };
        }
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) if !status.is_success() => {
                return Attempt::Stop(CallError::GaveUp(format!("HTTP {}", status.as_u16())))
            }
            Err(_) => {
                return Attempt::Retry {
                    doubt: true,
                    why: "the answer is not JSON".into(),
                    after: None,
                }
            }
        };
        let code = value.get("code").and_then(Value::as_i64);
        let msg = value
            .get("msg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match code {
            Some(1000) if status.is_success() => Attempt::Answer(value),
            Some(RETRY_CODE) => Attempt::Retry {
                doubt: true,
                why: format!("code {RETRY_CODE}: {msg}"),
                after: retry_after,
            },
            Some(code) if FATAL_CODES.contains(&code) => {
                Attempt::Stop(CallError::Fatal { code, msg })
            }
            Some(code) => Attempt::Stop(CallError::Code { code, msg }),
            None => Attempt::Stop(CallError::GaveUp(format!(
                "HTTP {}: an answer without a code",
                status.as_u16()
            ))),
        }
    }
}

/// The delay before retry number `retry + 1`: `first * 2^retry`, capped at `cap`, then a
/// random point in its upper half (jitter, so parallel clients do not retry in step).
pub fn backoff(retry: u32, first: Duration, cap: Duration, rng: &mut impl Rng) -> Duration {
    let full = first
        .checked_mul(1u32 << retry.min(20))
        .unwrap_or(cap)
        .min(cap);
    let half = full / 2;
    let spread = (full - half).as_millis() as u64;
    half + Duration::from_millis(rng.random_range(0..=spread))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// A network error without its URL (which may carry a signed query), with its causes.
pub fn network_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "connection error"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(e);
    let mut last = String::new();
    while let Some(cause) = source {
        let here = cause.to_string();
        if here != last && !here.contains("://") {
            text.push_str(": ");
            text.push_str(&here);
        }
        last = here;
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_upper_half_and_stops_at_the_cap() {
        let mut rng = rand::rng();
        let first = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for retry in 0..40 {
            let full = (first * 2u32.pow(retry.min(10))).min(cap);
            for _ in 0..50 {
                let d = backoff(retry, first, cap, &mut rng);
                assert!(
                    d >= full / 2 && d <= full,
                    "retry {retry}: {d:?} vs {full:?}"
                );
            }
        }
        assert_eq!(
            backoff(0, Duration::ZERO, cap, &mut rng),
            Duration::ZERO,
            "no delay asked, none given"
        );
    }
}
