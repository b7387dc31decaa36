//! The OpenAPI 3.1 document of the HTTP API, served unauthenticated at `GET /openapi.json`.
//!
//! Every route is registered with `utoipa_axum::routes!`, which puts the handler's
//! `#[utoipa::path]` into the document and the handler into the router in one step, so neither
//! can list a route the other lacks. This module adds what no single route owns: info, tags,
//! security schemes and shared responses. A response schema is the type its handler returns
//! (`ApiResult<T>` is documented as `Answer<T>`: HTTP 200 with a non-1000 `code` for business
//! errors, as Akool does), so the document cannot describe fields the handler does not send;
//! `tests/api/openapi.rs` still validates real answers against it. Request bodies are described
//! here (`requests`, `admin`): handlers read them leniently, field by field.

pub mod admin;
pub mod formats;
pub mod requests;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse};

use super::error::ErrorBody;
use super::fallback::RouteError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "i2v",
        description = "Self-hostable image-to-video server speaking Akool's Image to Video OpenAPI. \
            Akool routes answer HTTP 200 with `{code, msg, data}`; `code` 1000 is success, any other \
            `code` is an error, so read `code`, not the HTTP status."
    ),
    tags(
        (name = "image2video", description = "Akool's Image to Video OpenAPI"),
        (name = "auth", description = "Akool's token and credit routes"),
        (name = "i2v extensions", description = "i2v's own routes where Akool has none (`/api/i2v/v1`), authenticated like the Akool routes; not part of Akool's API"),
        (name = "files", description = "Rendered videos"),
        (name = "ops", description = "Health, readiness, metrics and this document"),
        (name = "admin", description = "Operator controls, mounted only when an admin token is configured"),
    ),
    components(schemas(RouteError), responses(TooLarge, AdminUnauthorized)),
    modifiers(&SecuritySchemes),
)]
struct ApiDoc;

/// The request body is over `limits.max_body_bytes`.
#[derive(ToResponse)]
#[allow(dead_code)]
#[response(description = "Request body over the size cap (`limits.max_body_bytes`), code 1003")]
pub struct TooLarge(ErrorBody);

/// Missing or wrong admin token.
#[derive(ToResponse)]
#[allow(dead_code)]
#[response(description = "Missing or wrong `Authorization: Bearer <admin token>`, code 1101")]
pub struct AdminUnauthorized(ErrorBody);

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The account's API key (its clientSecret). Ignored when Authorization is not empty.",
            ))),
        );
        components.add_security_scheme(
            "bearerToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token from POST /api/open/v3/getToken"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "adminToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The configured admin token (`admin_token`)"))
                    .build(),
            ),
        );
    }
}

/// Info, tags, security schemes and shared components; the routes add their paths.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The finished document, serialized once.
#[derive(Clone)]
pub struct Document(Bytes);

impl Document {
    pub fn new(api: &utoipa::openapi::OpenApi) -> Self {
        let json = api.to_json().expect("the OpenAPI document serializes");
        Document(Bytes::from(json))
    }
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapiJson",
    tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document of this server", body = Object)),
)]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.0).into_response()
}
