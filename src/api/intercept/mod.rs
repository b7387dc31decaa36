//! Every request to an Akool route passes through here (admin API test controls): the caller is
//! identified once (the handler's `Caller` reuses it), the account's API faults are applied, and
//! the request and its answer are journaled. With the journal off and no fault rules on the
//! account, a request only pays for the identification its handler would do anyway.

mod fault;
mod operation;
mod redact;

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::Value;

use super::auth::{identify, Identified};
use super::body::{too_large, unreadable};
use super::error::AkoolCode;
use super::error::ApiError;
use crate::app::App;
use crate::clock::now_ms;
use crate::domain::faults::ApiEffect;
use crate::service::auth::identify_by_client;
use crate::store::{AuthRecord, FaultKind, JournalEntry};
use operation::{answer_names_a_secret, operation_of};
use redact::Secrets;

/// Bodies longer than this are kept cut (the journal holds a thousand entries per account).
const KEPT_BODY_BYTES: usize = 256 * 1024;

/// What the journal keeps of a request besides its body.
struct Sent {
    operation: &'static str,
    started: Instant,
    at_ms: i64,
    method: String,
    path: String,
    query: String,
}

pub async fn intercept(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(operation) = operation_of(request.uri().path()) else {
        return next.run(request).await;
    };
    let sent = Sent {
        operation,
        started: Instant::now(),
        at_ms: now_ms(),
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
    };
    let (mut parts, body) = request.into_parts();
    // getToken's credentials are in its body; every other route's are in headers.
    let by_headers = match operation {
        "getToken" => None,
        _ => Some(identify(&parts.headers, &app).await),
    };
    if let Some(found) = &by_headers {
        let faulted = found.as_ref().is_ok_and(|r| r.api_faults);
        if !app.journal.enabled && !faulted {
            parts.extensions.insert(Identified(found.clone()));
            return next.run(Request::from_parts(parts, body)).await;
        }
    }

    let mut secrets = header_secrets(&parts);
    let bytes = match read_body(body, app.config.limits.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(refusal) => {
            let record = by_headers.and_then(Result::ok);
            let answer = refusal.into_response();
            return journaled(&app, sent, record, &secrets, b"", None, answer).await;
        }
    };
    let record = match by_headers {
        Some(found) => {
            let record = found.as_ref().ok().cloned();
            parts.extensions.insert(Identified(found));
            record
        }
        None => client_record(&app, &bytes, &mut secrets).await,
    };
    let effect = match &record {
        Some(r) if r.api_faults => take_effect(&app, r.uid, operation).await,
        _ => None,
    };
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    let answer = match &effect {
        None => next.run(request).await,
        Some((_, ApiEffect::Code { code, msg })) => fault::code_answer(*code, msg.clone()),
        Some((
            _,
            ApiEffect::HttpStatus {
                status,
                retry_after_s,
            },
        )) => fault::http_answer(*status, *retry_after_s),
        Some((_, ApiEffect::Delay { ms })) => {
            let answer = next.run(request).await;
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            answer
        }
        Some((_, ApiEffect::DropBefore)) => fault::close_without_answer(Response::default()),
        Some((_, ApiEffect::DropAfter)) => fault::close_without_answer(next.run(request).await),
    };
    let applied = effect.map(|(raw, _)| raw);
    journaled(&app, sent, record, &secrets, &bytes, applied, answer).await
}

/// The API key and bearer token the request carried.
fn header_secrets(parts: &Parts) -> Secrets {
    let mut secrets = Secrets::default();
    for name in ["x-api-key", "authorization"] {
        for value in parts.headers.get_all(name) {
            if let Ok(value) = value.to_str() {
                let value = value.trim();
                secrets.add(value);
                if let Some((_, token)) = value.split_once(' ') {
                    secrets.add(token.trim());
                }
            }
        }
    }
    secrets
}

/// The body, at most `limit` bytes, refused as the handlers' own reading refuses it.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

/// getToken's account, when its clientId and clientSecret are right (banned or not).
async fn client_record(app: &App, body: &[u8], secrets: &mut Secrets) -> Option<AuthRecord> {
    let body: Value = serde_json::from_slice(body).ok()?;
    let client_id = body.get("clientId")?.as_str()?;
    let client_secret = body.get("clientSecret")?.as_str()?;
    secrets.add(client_secret);
    identify_by_client(app, client_id, client_secret).await.ok()
}

/// The fault for this request, if a rule of the account fires. A fault that cannot be taken
/// (the store failing) leaves the request alone: the real answer will tell the client.
async fn take_effect(app: &App, uid: i64, operation: &str) -> Option<(Value, ApiEffect)> {
    match app.store.take_fault(uid, FaultKind::Api, operation).await {
        Ok(Some(raw)) => match ApiEffect::parse(&raw) {
            Ok(effect) => Some((raw, effect)),
            Err(e) => {
                tracing::warn!(uid, error = %e, "stored API fault is not readable; ignored");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(uid, error = %e, "API faults could not be read; none applied");
            None
        }
    }
}

/// Records the request and its answer (when the journal is on) and hands the answer back.
async fn journaled(
    app: &App,
    sent: Sent,
    record: Option<AuthRecord>,
    secrets: &Secrets,
    request_body: &[u8],
    fault: Option<Value>,
    answer: Response,
) -> Response {
    if !app.journal.enabled {
        return answer;
    }
    let unanswered = fault
        .as_ref()
        .is_some_and(|f| f.get("drop").and_then(Value::as_str) == Some("before"));
    let (head, body) = answer.into_parts();
    // Answers are built whole in memory (JSON), so this only takes the bytes out.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let code = match head.extensions.get::<AkoolCode>() {
        Some(AkoolCode(code)) => Some(*code),
        None => code_of(&bytes),
    };
    app.journal.record(JournalEntry {
        id: 0,
        at_ms: sent.at_ms + record.as_ref().map_or(0, |r| r.clock_offset_ms),
        uid: record.as_ref().map(|r| r.uid),
        method: sent.method,
        path: sent.path,
        query: secrets.query(&sent.query),
        request_body: kept(secrets.body(request_body)),
        status: (!unanswered).then(|| i64::from(head.status.as_u16())),
        code: if unanswered { None } else { code },
        response_body: if unanswered {
            String::new()
        } else if answer_names_a_secret(sent.operation) {
            kept(secrets.body(&bytes))
        } else {
            kept(secrets.text(&bytes))
        },
        latency_ms: sent.started.elapsed().as_millis() as i64,
        fault: fault.map(|f| f.to_string()),
    });
    Response::from_parts(head, Body::from(bytes))
}

/// The `code` of an answer (an object, as every answer here is), read without building the rest
/// of it: a results answer is kilobytes, and this runs for every journaled request.
fn code_of(answer: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Coded {
        code: Option<i64>,
    }
    serde_json::from_slice::<Coded>(answer).ok()?.code
}

/// A body cut to `KEPT_BODY_BYTES` (at a character boundary), saying how much was left out.
fn kept(mut text: String) -> String {
    if text.len() <= KEPT_BODY_BYTES {
        return text;
    }
    let mut end = KEPT_BODY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("…[{cut} more bytes not kept]"));
    text
}

#[cfg(test)]
mod tests {
    use super::code_of;

    #[test]
    fn an_answers_code_is_read_whatever_else_it_holds() {
        assert_eq!(
            code_of(br#"{"code":1000,"data":{"result":[{"_id":"x","status":3}]},"msg":"OK"}"#),
            Some(1000)
        );
        assert_eq!(code_of(br#"{"msg":"x","code":2001}"#), Some(2001));
        assert_eq!(code_of(br#"{"msg":"no code"}"#), None);
        assert_eq!(code_of(br#"{"code":"1000"}"#), None);
        assert_eq!(code_of(b"not json"), None);
        assert_eq!(code_of(b""), None);
    }
}
