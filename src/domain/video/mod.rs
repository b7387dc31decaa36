//! The video: Akool's task record (spec §3) plus what the queue and the files need, typed. The
//! store reads and writes it (converting at its edge), the API shows it, workers render it.

mod attributes;
mod ordered;
mod seeded;

pub use attributes::{AudioType, EffectChoice, ModelName, VideoKind};
pub use ordered::Order;
pub use seeded::Seed;

use super::catalogue::Resolution;
use super::{ObjectId, VideoStatus};

#[derive(Clone, Debug, PartialEq)]
pub struct Video {
    pub id: ObjectId,
    pub uid: i64,
    pub team_id: String,
    pub kind: VideoKind,
    pub status: VideoStatus,
    pub model: ModelName,
    pub resolution: Resolution,
    /// Seconds, one of the model's durations.
    pub video_length: i64,
    pub image_url: String,
    pub last_image_url: Option<String>,
    pub prompt: String,
    pub negative_prompt: String,
    pub extend_prompt: bool,
    pub audio_type: AudioType,
    /// As sent, also when `audio_type` does not use it (the record echoes it).
    pub audio_url: String,
    pub generate_audio: bool,
    pub is_premium_model: bool,
    pub effect: Option<EffectChoice>,
    pub webhook_url: String,
    pub file_name: String,
    pub batch_id: Option<String>,
    pub batch_count: Option<i64>,
    /// For audio updates: the video whose output gets the new audio.
    pub pre_video_id: Option<ObjectId>,
    pub deduction_credit: i64,
    pub blob_key: Option<String>,
    pub video_duration: Option<f64>,
    pub error_reason: Option<String>,
    pub attempts: i64,
    pub create_time: i64,
    pub update_time: i64,
}
