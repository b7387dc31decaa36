//! The one way a JSON answer leaves this server.
//!
//! Answers are written with their object keys in alphabetical order, nested objects included:
//! that is how `serde_json` writes a `Value` (its map is sorted), and so how every answer has
//! looked byte for byte since the handlers built `Value`s. Going through a `Value` keeps it so
//! whatever order a response type declares its fields in, and costs what building the `Value`
//! by hand did.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_value(body) {
        Ok(value) => (status, Json(value)).into_response(),
        // Only a map with non-string keys fails, and no response type has one.
        Err(e) => {
            tracing::error!(error = %e, "answer does not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
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
