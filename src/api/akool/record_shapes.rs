//! The four shapes of Akool's task record, as sent (`record` builds them) and as documented.
//! Records deny unknown fields in their schema so a field added to an answer without being
//! documented here fails `tests/api/openapi.rs`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::openapi::formats::{audio_type, object_id, video_status};

/// Declares a video record: the fields every shape shares, then the shape's own.
macro_rules! video_record {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Serialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The video id.
            #[serde(rename = "_id")]
            #[schema(schema_with = object_id)]
            pub id: String,
            /// Epoch milliseconds.
            pub create_time: i64,
            pub uid: i64,
            #[schema(schema_with = object_id)]
            pub team_id: String,
            #[schema(schema_with = video_status)]
            pub status: i64,
            /// The callback URL as stored; `""` when none.
            #[serde(rename = "webhookUrl")]
            pub webhook_url: String,
            /// `720p`, `1080p`, `4k`, ... (a `value` of the model's `resolutionList`).
            pub resolution: String,
            /// `"Image2Video_"` + the first 24 characters of the prompt + `".mp4"`.
            pub file_name: String,
            /// The effect's display name; `""` without an effect.
            pub effect_name: String,
            pub image_url: String,
            pub prompt: String,
            /// Credits charged for this video (0 after a refund of a failed one).
            pub deduction_credit: i64,
            $($extra)*
        }
    };
}

video_record!(
    /// The record `createBySourcePrompt` answers with (status 1).
    CreatedVideo {
        pub negative_prompt: String,
        pub extend_prompt: bool,
        #[schema(schema_with = audio_type)]
        pub audio_type: i64,
        pub audio_url: String,
        /// `""` without an effect.
        pub effect_code: String,
    }
);

video_record!(
    /// One item of a batch create's `successList` (status 1).
    BatchVideo {
        pub negative_prompt: String,
        pub extend_prompt: bool,
        /// `""` when none was requested.
        pub last_image_url: String,
        pub model_name: String,
        /// Shared by the videos of one request.
        pub batch_id: String,
        /// How many videos that request made.
        pub batch_count: i64,
        pub generate_audio: bool,
    }
);

video_record!(
    /// The new record `updateVideoAudio` answers with (status 1, `only_add_audio` true).
    AudioUpdateVideo {
        pub update_time: i64,
        pub negative_prompt: String,
        pub extend_prompt: bool,
        #[schema(schema_with = audio_type)]
        pub audio_type: i64,
        pub audio_url: String,
        pub effect_code: String,
        /// The source video's `_id`.
        #[schema(schema_with = object_id)]
        pub pre_video_id: String,
        pub only_add_audio: bool,
        /// Length of the source video in seconds.
        // A completed source always has its length, so `null` is never sent.
        #[schema(value_type = f64)]
        pub video_duration: Option<f64>,
    }
);

video_record!(
    /// One item of `resultsByIds`.
    ResultVideo {
        pub update_time: i64,
        #[schema(schema_with = audio_type)]
        pub audio_type: i64,
        pub audio_url: String,
        pub effect_code: String,
        pub negative_prompt: String,
        pub extend_prompt: bool,
        pub model_name: String,
        /// True for records made by `updateVideoAudio`.
        pub only_add_audio: bool,
        /// Batch videos only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub batch_id: Option<String>,
        /// Batch videos only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub batch_count: Option<i64>,
        /// Batch videos only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_image_url: Option<String>,
        /// Batch videos only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub generate_audio: Option<bool>,
        /// Audio-update records only.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub pre_video_id: Option<String>,
        /// Seconds of output, once rendered.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub video_duration: Option<f64>,
        /// Status 3 only: where to download the MP4.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub video_url: Option<String>,
        /// Status 3 only: 1501, the image-to-video model type.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub sub_type: Option<i64>,
        /// Status 4 only: why the render failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub error_reason: Option<String>,
    }
);
