//! The one way a JSON answer leaves this server.
//!
//! Answers are written with their object keys in alphabetical order, nested objects included:
//! that is how `serde_json` writes a `Value` (its map is sorted), and so how every answer has
//! looked byte for byte since the handlers built `Value`s, whatever order a response type
//! declares its fields in. `sorted` writes that text straight from the response, without the
//! `Value` (building it was a tenth of a polled server's CPU); debug builds, and so every test,
//! check each answer against the `Value` route.

mod sorted;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match sorted::to_vec(body) {
        Ok(bytes) => {
            #[cfg(debug_assertions)]
            check_against_value(body, &bytes);
            let content_type = HeaderValue::from_static("application/json");
            (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        // Only a map with non-string keys fails, and no response type has one.
        Err(e) => {
            tracing::error!(error = %e, "answer does not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The bytes `sorted` wrote are the ones the `Value` route writes.
#[cfg(debug_assertions)]
fn check_against_value<T: Serialize>(body: &T, bytes: &[u8]) {
    let by_value = serde_json::to_value(body).and_then(|v| serde_json::to_vec(&v));
    if let Ok(expected) = by_value {
        assert!(
            expected == bytes,
            "sorted JSON differs from the Value route:\n{}\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(bytes)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Unsorted {
        zebra: i64,
        #[serde(rename = "_id")]
        id: &'static str,
        nested: Nested,
        #[serde(rename = "Upper")]
        upper: bool,
    }

    #[derive(Serialize)]
    struct Nested {
        b: f64,
        a: Option<i64>,
    }

    #[tokio::test]
    async fn keys_are_written_sorted_at_every_depth() {
        let body = Unsorted {
            zebra: 1,
            id: "x",
            nested: Nested { b: 5.0, a: None },
            upper: true,
        };
        let response = json_response(StatusCode::OK, &body);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        assert_eq!(
            std::str::from_utf8(&bytes).expect("UTF-8"),
            r#"{"Upper":true,"_id":"x","nested":{"a":null,"b":5.0},"zebra":1}"#
        );
    }
}
