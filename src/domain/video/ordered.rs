//! New videos: those a create request orders, and the record an audio update adds.

use super::{AudioType, EffectChoice, ModelName, Video, VideoKind};
use crate::domain::catalogue::audio_update_price;
use crate::domain::spec::VideoSpec;
use crate::domain::{ObjectId, VideoStatus};

/// Who orders videos, how, and when (epoch milliseconds).
#[derive(Clone, Copy, Debug)]
pub struct Order<'a> {
    pub uid: i64,
    pub team_id: &'a str,
    pub kind: VideoKind,
    pub at: i64,
}

impl Video {
    /// `count` queued videos of `spec`, each charged the spec's price. Ids and create times are
    /// consecutive, as in Akool's batch example; a batch shares one `batch_id`.
    pub fn ordered(spec: &VideoSpec, order: Order<'_>, count: i64) -> Vec<Video> {
        let batch_id =
            (order.kind == VideoKind::Batch).then(|| format!("{}_{}", order.at, order.uid));
        (0..count)
            .map(|i| {
                let created = order.at + i;
                Video {
                    id: ObjectId::generate((created / 1000) as u64),
                    uid: order.uid,
                    team_id: order.team_id.to_owned(),
                    kind: order.kind,
                    status: VideoStatus::Queued,
                    model: ModelName::from(spec.model),
                    resolution: spec.resolution.resolution,
                    video_length: spec.video_length,
                    image_url: spec.image_url.clone(),
                    last_image_url: spec.last_image_url.clone(),
                    prompt: spec.prompt.clone(),
                    negative_prompt: spec.negative_prompt.clone(),
                    extend_prompt: spec.extend_prompt,
                    audio_type: spec.audio_type,
                    audio_url: spec.audio_url.clone(),
                    generate_audio: spec.generate_audio,
                    is_premium_model: spec.is_premium_model,
                    effect: spec.effect.map(EffectChoice::from),
                    webhook_url: spec.webhook_url.clone(),
                    file_name: spec.file_name(),
                    batch_id: batch_id.clone(),
                    batch_count: batch_id.as_ref().map(|_| count),
                    pre_video_id: None,
                    deduction_credit: spec.price,
                    blob_key: None,
                    video_duration: None,
                    error_reason: None,
                    attempts: 0,
                    create_time: created,
                    update_time: created,
                }
            })
            .collect()
    }

    /// Update Video Audio (spec §9): a new queued record that puts new audio under this finished
    /// video, charged by its length; everything else it shows is inherited.
    pub fn audio_update(&self, audio_type: AudioType, audio_url: &str, at: i64) -> Video {
        let seconds = self.video_duration.unwrap_or(self.video_length as f64);
        Video {
            id: ObjectId::generate((at / 1000) as u64),
            kind: VideoKind::AudioUpdate,
            status: VideoStatus::Queued,
            audio_type,
            audio_url: audio_url.to_owned(),
            generate_audio: false,
            // Akool's example shows no callback for audio updates; none is inherited.
            webhook_url: String::new(),
            batch_id: None,
            batch_count: None,
            pre_video_id: Some(self.id),
            deduction_credit: audio_update_price(seconds),
            blob_key: None,
            video_duration: None,
            error_reason: None,
            attempts: 0,
            create_time: at,
            update_time: at,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{Catalogue, Resolution};
    use crate::domain::spec::parse_batch;
    use serde_json::json;

    fn batch_spec() -> VideoSpec {
        let body = json!({
            "image_url": "https://example.com/a.png",
            "prompt": "zoom in",
            "resolution": "1080p",
            "video_length": 5,
            "model_name": "I2VMotionV1",
            "effect_code": "squish_89244231312",
            "last_image_url": "https://example.com/b.png",
            "generate_audio": true,
        });
        parse_batch(&body, Catalogue::builtin()).unwrap().0
    }

    #[test]
    fn a_batch_keeps_the_spec_typed_and_shares_one_batch_id() {
        let spec = batch_spec();
        let order = Order {
            uid: 100001,
            team_id: "team",
            kind: VideoKind::Batch,
            at: 1_754_006_400_000,
        };
        let videos = Video::ordered(&spec, order, 3);
        assert_eq!(videos.len(), 3);
        let first = &videos[0];
        assert_eq!(first.model.as_str(), "I2VMotionV1");
        assert_eq!(first.resolution, Resolution::P1080);
        assert_eq!(first.audio_type, AudioType::None);
        assert_eq!(
            first.effect.as_ref().map(|e| e.name.as_str()),
            Some("Squish")
        );
        assert_eq!(
            first.last_image_url.as_deref(),
            Some("https://example.com/b.png")
        );
        assert_eq!(first.deduction_credit, spec.price);
        assert_eq!(first.batch_id.as_deref(), Some("1754006400000_100001"));
        assert!(videos
            .iter()
            .all(|v| v.batch_id == first.batch_id && v.batch_count == Some(3)));
        let times: Vec<i64> = videos.iter().map(|v| v.create_time).collect();
        assert_eq!(times, [order.at, order.at + 1, order.at + 2]);

        let single = Video::ordered(
            &spec,
            Order {
                kind: VideoKind::Single,
                ..order
            },
            1,
        );
        assert_eq!((&single[0].batch_id, single[0].batch_count), (&None, None));
    }

    #[test]
    fn an_audio_update_inherits_the_record_and_is_charged_by_length() {
        let mut source = Video::ordered(
            &batch_spec(),
            Order {
                uid: 100001,
                team_id: "team",
                kind: VideoKind::Batch,
                at: 1_754_006_400_000,
            },
            1,
        )
        .remove(0);
        source.status = VideoStatus::Completed;
        source.video_duration = Some(5.063);
        source.blob_key = Some("videos/x/a.mp4".into());
        let update = source.audio_update(
            AudioType::FromUrl,
            "https://example.com/a.mp3",
            1_754_006_500_000,
        );
        assert_eq!(update.kind, VideoKind::AudioUpdate);
        assert_eq!(update.status, VideoStatus::Queued);
        assert_eq!(update.pre_video_id, Some(source.id));
        assert_eq!(update.deduction_credit, 5);
        assert_eq!(
            (update.blob_key, update.video_duration, update.batch_id),
            (None, None, None)
        );
        assert_eq!((update.model, update.effect), (source.model, source.effect));
        assert!(update.webhook_url.is_empty() && !update.generate_audio);
    }
}
