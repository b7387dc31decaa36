//! The model list (`aigModel/list`) and the effects list, both read from the one catalogue.

use axum::extract::{RawQuery, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::answer::{ok, Answer, ApiResult};
use crate::api::error::ApiError;
use crate::api::openapi::formats::object_id;
use crate::app::App;
use crate::domain::catalogue::{self, IMAGE_TO_VIDEO};
use crate::service::Caller;

/// One effect preset.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    #[serde(rename = "_id")]
    #[schema(schema_with = object_id)]
    pub id: String,
    pub create_time: i64,
    /// Thumbnail URL; `""` for the built-in effects.
    pub logo: String,
    pub name: String,
    /// Preview clip URL; `""` for the built-in effects.
    pub video_url: String,
    /// Send as `effect_code` when creating.
    pub effect_code: String,
}

/// `image2Video/effects` data.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Effects {
    pub result: Vec<Effect>,
    /// How many effects there are.
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionOption {
    pub label: String,
    /// Send as `resolution`.
    pub value: String,
    pub width: i64,
    pub height: i64,
    /// Credits per second of video at this resolution.
    pub unit_credit: i64,
}

/// Present when the model can generate a soundtrack (`generate_audio: true` on batch create).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateAudio {
    #[serde(rename = "type")]
    pub kind: bool,
    pub required: bool,
    pub default: bool,
    /// Price factor when `generate_audio` is requested.
    pub extra_credit_multiplier: f64,
}

/// `aigModel/list` data: an array, highest `sort` first.
#[derive(Serialize, ToSchema)]
pub struct Models(Vec<Model>);

/// One model of `aigModel/list`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Model {
    pub sort: i64,
    pub group: String,
    pub provider: String,
    /// 1501 (image to video).
    #[serde(rename = "type")]
    pub kind: i64,
    pub label: String,
    /// Send as `model_name`.
    pub value: String,
    pub description: String,
    pub resolution_list: Vec<ResolutionOption>,
    pub is_pro: bool,
    #[serde(rename = "generate_audio")]
    pub generate_audio: Option<GenerateAudio>,
    /// Allowed `video_length` values in seconds.
    pub duration_list: Vec<i64>,
    pub requires_pay: bool,
    /// Whether `last_image_url` is accepted.
    pub supported_last_frame: bool,
    /// Whether `extend_prompt` is honoured.
    pub supported_extend_prompt: bool,
    pub max_image_count: i64,
    /// Largest `count` per batch create.
    pub max_count: i64,
}

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

impl Model {
    fn of(m: &catalogue::Model) -> Model {
        let resolution = |r: &catalogue::ResolutionOption| ResolutionOption {
            label: r.value.into(),
            value: r.value.into(),
            width: r.width.into(),
            height: r.height.into(),
            unit_credit: r.unit_credit,
        };
        Model {
            sort: m.sort,
            group: m.group.into(),
            provider: m.provider.into(),
            kind: IMAGE_TO_VIDEO,
            label: m.label.into(),
            value: m.value.into(),
            description: m.description.into(),
            resolution_list: m.resolutions.iter().map(resolution).collect(),
            is_pro: m.is_pro,
            generate_audio: m.generate_audio.as_ref().map(|g| GenerateAudio {
                kind: true,
                required: false,
                default: false,
                extra_credit_multiplier: g.extra_credit_multiplier,
            }),
            duration_list: m.durations.to_vec(),
            requires_pay: m.requires_pay,
            supported_last_frame: m.supports_last_frame,
            supported_extend_prompt: m.supports_extend_prompt,
            max_image_count: 1,
            max_count: m.max_count,
        }
    }
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
) -> ApiResult<Models> {
    let types = requested_types(query.as_deref())?;
    let mut models: Vec<&catalogue::Model> = if types.contains(&IMAGE_TO_VIDEO) {
        app.catalogue.models.iter().collect()
    } else {
        Vec::new()
    };
    models.sort_by_key(|m| std::cmp::Reverse(m.sort));
    Ok(ok(
        "OK",
        Models(models.into_iter().map(Model::of).collect()),
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
pub async fn effects(State(app): State<App>, _caller: Caller) -> ApiResult<Effects> {
    let result: Vec<Effect> = app
        .catalogue
        .effects
        .iter()
        .map(|e| Effect {
            id: e.id.into(),
            create_time: e.create_time,
            logo: String::new(),
            name: e.name.into(),
            video_url: String::new(),
            effect_code: e.code.into(),
        })
        .collect();
    let count = result.len() as i64;
    Ok(ok("Success", Effects { result, count }))
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
