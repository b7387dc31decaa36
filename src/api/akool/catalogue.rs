//! The model list (`aigModel/list`) and the effects list, both read from the one catalogue.

use axum::extract::{RawQuery, State};
use serde_json::{json, Value};

use crate::api::error::{ok, ApiError, ApiResult};
use crate::api::openapi::schemas::{Answer, Effects, Models};
use crate::app::App;
use crate::domain::catalogue::{Model, IMAGE_TO_VIDEO};
use crate::service::Caller;

/// `types` arrives as `types[]=1501` (raw or percent-encoded brackets), `types=1501`, indexed
/// `types[0]=1501`, or repeated; all are accepted.
fn requested_types(query: Option<&str>) -> Result<Vec<i64>, ApiError> {
    let mut types = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key == "types" || (key.starts_with("types[") && key.ends_with(']')) {
            for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let t = part.parse::<i64>().map_err(|_| {
                    ApiError::param(format!("types must be integers, got {part:?}"))
                })?;
                types.push(t);
            }
        }
    }
    if types.is_empty() {
        return Err(ApiError::param("types is required, e.g. ?types[]=1501"));
    }
    Ok(types)
}

fn model_json(m: &Model) -> Value {
    json!({
        "sort": m.sort,
        "group": m.group,
        "provider": m.provider,
        "type": IMAGE_TO_VIDEO,
        "label": m.label,
        "value": m.value,
        "description": m.description,
        "resolutionList": m.resolutions.iter().map(|r| json!({
            "label": r.value, "value": r.value, "width": r.width, "height": r.height,
            "unit_credit": r.unit_credit,
        })).collect::<Vec<_>>(),
        "isPro": m.is_pro,
        "generate_audio": m.generate_audio.as_ref().map(|g| json!({
            "type": true, "required": false, "default": false,
            "extra_credit_multiplier": g.extra_credit_multiplier,
        })),
        "durationList": m.durations,
        "requiresPay": m.requires_pay,
        "supportedLastFrame": m.supports_last_frame,
        "supportedExtendPrompt": m.supports_extend_prompt,
        "maxImageCount": 1,
        "maxCount": m.max_count,
    })
}

/// AI models
///
/// `data` is an array (not `{result}`), highest `sort` first; types other than 1501 give `[]`.
#[utoipa::path(
    get,
    path = "/api/open/v4/aigModel/list",
    operation_id = "aigModelList",
    tag = "image2video",
    params(
        ("types[]" = Vec<i64>, Query,
            description = "Model types, at least one; 1501 is image to video. Also accepted: \
                `types%5B%5D=`, `types=`, `types[0]=`, comma-separated values"),
    ),
    responses((status = 200, description = "The models, or an error `code`", body = Answer<Models>)),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn model_list(
    State(app): State<App>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let types = requested_types(query.as_deref())?;
    let mut models: Vec<&Model> = if types.contains(&IMAGE_TO_VIDEO) {
        app.catalogue.models.iter().collect()
    } else {
        Vec::new()
    };
    models.sort_by_key(|m| std::cmp::Reverse(m.sort));
    Ok(ok(
        "OK",
        Value::Array(models.into_iter().map(model_json).collect()),
    ))
}

/// Effect presets
#[utoipa::path(
    get,
    path = "/api/open/v4/image2Video/effects",
    operation_id = "image2VideoEffects",
    tag = "image2video",
    responses((status = 200, description = "`data.result` and `data.count` (`msg` \"Success\"), or an error `code`", body = Answer<Effects>)),
    security(("apiKey" = []), ("bearerToken" = [])),
)]
pub async fn effects(State(app): State<App>, _caller: Caller) -> ApiResult {
    let result: Vec<Value> = app
        .catalogue
        .effects
        .iter()
        .map(|e| {
            json!({
                "_id": e.id, "create_time": e.create_time, "logo": "", "name": e.name,
                "video_url": "", "effect_code": e.code,
            })
        })
        .collect();
    let count = result.len();
    Ok(ok("Success", json!({ "result": result, "count": count })))
}

#[cfg(test)]
mod tests {
    use super::requested_types;

    #[test]
    fn every_spelling_of_types_is_accepted() {
        for q in [
            "types[]=1501",
            "types%5B%5D=1501",
            "types=1501",
            "types[0]=1501",
            "types=1502&types=1501",
        ] {
            assert!(requested_types(Some(q)).unwrap().contains(&1501), "{q}");
        }
        assert!(requested_types(None).is_err());
        assert!(requested_types(Some("types[]=abc")).is_err());
        assert!(requested_types(Some("other=1")).is_err());
    }
}
