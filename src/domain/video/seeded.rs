//! Seeded records (admin API): a video as if it had been ordered and had reached `status`,
//! written straight into the store for a test's setup. It cost nothing.

use super::{AudioType, ModelName, Video, VideoKind};
use crate::domain::catalogue::{Model, Resolution};
use crate::domain::file_name::file_name_text;
use crate::domain::spec::FILE_NAME_PROMPT_CHARS;
use crate::domain::{ObjectId, VideoStatus};

/// What a seed names; everything else is what a single-endpoint order would show.
#[derive(Clone, Debug)]
pub struct Seed<'a> {
    pub uid: i64,
    pub team_id: &'a str,
    pub model: &'static Model,
    pub status: VideoStatus,
    pub resolution: Resolution,
    pub video_length: i64,
    pub prompt: String,
    pub image_url: String,
    pub create_time: i64,
    /// Status 4: the reason shown.
    pub error_reason: Option<String>,
    /// Status 3: the output file.
    pub blob_key: Option<String>,
}

impl Video {
    pub fn seeded(seed: Seed<'_>) -> Video {
        let head: String = file_name_text(&seed.prompt)
            .chars()
            .take(FILE_NAME_PROMPT_CHARS)
            .collect();
        let completed = seed.status == VideoStatus::Completed;
        Video {
            id: ObjectId::generate((seed.create_time.max(0) / 1000) as u64),
            uid: seed.uid,
            team_id: seed.team_id.to_owned(),
            kind: VideoKind::Single,
            status: seed.status,
            model: ModelName::from(seed.model),
            resolution: seed.resolution,
            video_length: seed.video_length,
            image_url: seed.image_url,
            last_image_url: None,
            prompt: seed.prompt,
            negative_prompt: String::new(),
            extend_prompt: false,
            audio_type: AudioType::None,
            audio_url: String::new(),
            generate_audio: false,
            is_premium_model: false,
            effect: None,
            webhook_url: String::new(),
            file_name: format!("Image2Video_{head}.mp4"),
            batch_id: None,
            batch_count: None,
            pre_video_id: None,
            deduction_credit: 0,
            blob_key: seed.blob_key.filter(|_| completed),
            video_duration: completed.then_some(seed.video_length as f64),
            error_reason: seed
                .error_reason
                .filter(|_| seed.status == VideoStatus::Failed),
            attempts: 0,
            create_time: seed.create_time,
            update_time: seed.create_time,
        }
    }
}
