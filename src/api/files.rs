//! Serves output files at the `video_url`s handed to clients (`{public_url}/files/{blob key}`,
//! made by `video_urls`), with HTTP range support so that browsers can seek. A deleted or
//! expired video's URL stops working the moment its row changes: every request goes through the
//! video row, and only the file the row points at is served.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::blobs::Blobs;
use crate::domain::ObjectId;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(video_file))
}

/// A single `bytes=` range resolved against `size`: inclusive start and end. `Ok(None)` means
/// "serve everything" (no header, or a form we do not serve partially); `Err` means 416.
///
/// As RFC 9110 §14.1.2 says, a last-byte-pos past the end, however large (even past `u64`), and
/// a suffix longer than the file both mean "to the end"; only a first-byte-pos at or past the
/// end is unsatisfiable.
pub fn parse_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.is_empty(), end.is_empty()) {
        (true, true) => return Err(()),
        (true, false) => {
            let suffix = byte_pos(end)?;
            if suffix == 0 || size == 0 {
                return Err(());
            }
            (size.saturating_sub(suffix), size - 1)
        }
        (false, _) => {
            let first = byte_pos(start)?;
            let last = if end.is_empty() {
                size.saturating_sub(1)
            } else {
                byte_pos(end)?
            };
            if first >= size || last < first {
                return Err(());
            }
            (first, last.min(size - 1))
        }
    };
    Ok(Some(range))
}

/// `1*DIGIT`; a number too large for `u64` is `u64::MAX`, which is past the end of any file
/// and so has the same meaning as its true value.
fn byte_pos(digits: &str) -> Result<u64, ()> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    Ok(digits.parse().unwrap_or(u64::MAX))
}

/// A rendered video
///
/// The `video_url` of a completed video. Supports a single `Range: bytes=` range. Stops working
/// when the video is deleted or expires.
#[utoipa::path(
    get,
    path = "/files/videos/{id}/{name}",
    operation_id = "videoFile",
    tag = "files",
    params(
        ("id" = String, Path, description = "The video's `_id`"),
        ("name" = String, Path, description = "The file name in its `video_url` (`.mp4`), or the same name ending in `.jpg` for its poster (a JPEG frame, the web console's thumbnail; rendered videos only)"),
        ("Range" = Option<String>, Header, description = "One `bytes=first-last` range"),
    ),
    responses(
        (status = 200, description = "The whole MP4, or its JPEG poster", content(("video/mp4"), ("image/jpeg"))),
        (status = 206, description = "The requested range", content(("video/mp4"), ("image/jpeg"))),
        (status = 404, description = "No such file (`not found`)", content_type = "text/plain", body = String),
        (status = 416, description = "Range outside the file; `Content-Range: bytes */<size>`"),
    ),
)]
async fn video_file(
    State(app): State<App>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let missing = || (StatusCode::NOT_FOUND, "not found").into_response();
    // A segment that does not even decode names no file either.
    let Ok(Path((id, name))) = path else {
        return missing();
    };
    let Some(id) = ObjectId::parse(&id) else {
        return missing();
    };
    let key = format!("videos/{id}/{name}");
    // The video's current file, or that file's poster: never a file of an earlier attempt.
    let content_type = match app.store.blob_key_of(id).await {
        Ok(Some(current)) if current == key => "video/mp4",
        Ok(Some(current)) if Blobs::poster_key(&current).as_deref() == Some(key.as_str()) => {
            "image/jpeg"
        }
        Ok(_) => return missing(),
        Err(e) => return server_error("file lookup", e),
    };
    let size = match app.blobs.size(&key).await {
        Ok(Some(size)) => size,
        Ok(None) => return missing(),
        Err(e) => return server_error("file size", e),
    };
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let common = [
        (header::CONTENT_TYPE, content_type),
        (header::ACCEPT_RANGES, "bytes"),
    ];
    match parse_range(range_header, size) {
        Err(()) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{size}"))],
        )
            .into_response(),
        Ok(None) => match app.blobs.stream(&key).await {
            Ok(Some(chunks)) => (
                common,
                [(header::CONTENT_LENGTH, size.to_string())],
                axum::body::Body::from_stream(chunks),
            )
                .into_response(),
            Ok(None) => missing(),
            Err(e) => server_error("file read", e),
        },
        Ok(Some((first, last))) => match app.blobs.get_range(&key, first, last + 1).await {
            Ok(bytes) => (
                StatusCode::PARTIAL_CONTENT,
                common,
                [(
                    header::CONTENT_RANGE,
                    format!("bytes {first}-{last}/{size}"),
                )],
                bytes,
            )
                .into_response(),
            Err(e) => server_error("file range read", e),
        },
    }
}

fn server_error(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_resolve_like_rfc_9110() {
        assert_eq!(parse_range(None, 100), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Ok(Some((0, 9))));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=-500"), 100), Ok(Some((0, 99))));
        assert_eq!(parse_range(Some("bytes=50-5000"), 100), Ok(Some((50, 99))));
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(parse_range(Some("items=0-1"), 100), Ok(None));
        for bad in [
            "bytes=100-",
            "bytes=99999999999999999999999-",
            "bytes=99999999999999999999999-99999999999999999999999",
            "bytes=+5-9",
            "bytes=0-+9",
            "bytes=--5",
            "bytes=5-1",
            "bytes=-0",
            "bytes=-",
            "bytes=a-b",
            "bytes=5",
        ] {
            assert_eq!(parse_range(Some(bad), 100), Err(()), "{bad}");
        }
    }

    #[test]
    fn an_end_past_the_file_clamps_even_when_it_overflows() {
        let huge = "99999999999999999999999";
        assert_eq!(
            parse_range(Some(&format!("bytes=0-{huge}")), 100),
            Ok(Some((0, 99)))
        );
        assert_eq!(
            parse_range(Some(&format!("bytes=42-{huge}")), 100),
            Ok(Some((42, 99)))
        );
        assert_eq!(
            parse_range(Some(&format!("bytes=99-{}", u64::MAX)), 100),
            Ok(Some((99, 99)))
        );
        assert_eq!(
            parse_range(Some(&format!("bytes=-{huge}")), 100),
            Ok(Some((0, 99)))
        );
        assert_eq!(parse_range(Some(&format!("bytes=0-{huge}")), 0), Err(()));
        assert_eq!(
            parse_range(Some(&format!("bytes={huge}-{huge}")), u64::MAX),
            Err(())
        );
    }
}
