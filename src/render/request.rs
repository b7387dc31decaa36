//! The render request: a video resolved once, against the active catalogue, into what a backend
//! makes of it. Nothing in it is left to parse, so no backend can refuse what create accepted.
//!
//! Generic over its inputs: [`RenderRequest::resolve`] names them by the video's URLs, the
//! worker fetches them (`jobs::inputs`), and a backend receives the bytes.

use bytes::Bytes;

use super::plan::frame_count;
use crate::domain::catalogue::{Catalogue, Pixels, Resolution};
use crate::domain::motion::Motion;
use crate::domain::video::{AudioType, Video, VideoKind};

#[derive(Clone, Debug, PartialEq)]
pub struct RenderRequest<I = Bytes> {
    pub work: RenderWork<I>,
    pub audio: Soundtrack<I>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RenderWork<I = Bytes> {
    /// A clip drawn from the video's image(s).
    Clip(ClipRequest<I>),
    /// Update Video Audio: the soundtrack goes under the source video's output, which the
    /// worker copies to local disk (`RenderJob::source_file`).
    AudioUpdate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClipRequest<I = Bytes> {
    pub resolution: Resolution,
    pub fps: u32,
    pub frame_count: u32,
    pub seconds: f64,
    pub motion: Motion,
    pub image: I,
    /// The image the clip cross-fades to at its end.
    pub last_image: Option<I>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Soundtrack<I = Bytes> {
    None,
    Generated,
    /// A user's audio file: untrusted, to be sniffed and probed before use.
    File(I),
}

impl<'v> RenderRequest<&'v str> {
    /// `video` as a request whose inputs are its URLs. The motion is the effect's when the
    /// catalogue knows the effect, else the one the prompt names.
    pub fn resolve(video: &'v Video, catalogue: &Catalogue, fps: u32) -> RenderRequest<&'v str> {
        let audio = match video.audio_type {
            AudioType::FromUrl => Soundtrack::File(video.audio_url.as_str()),
            AudioType::Generated => Soundtrack::Generated,
            AudioType::None if video.generate_audio => Soundtrack::Generated,
            AudioType::None => Soundtrack::None,
        };
        let work = match video.kind {
            VideoKind::AudioUpdate => RenderWork::AudioUpdate,
            VideoKind::Single | VideoKind::Batch => {
                let fps = fps.max(1);
                let seconds = video.video_length as f64;
                let motion = video
                    .effect
                    .as_ref()
                    .and_then(|effect| effect.motion(catalogue))
                    .unwrap_or_else(|| Motion::from_prompt(&video.prompt));
                RenderWork::Clip(ClipRequest {
                    resolution: video.resolution,
                    fps,
                    frame_count: frame_count(seconds, fps),
                    seconds,
                    motion,
                    image: video.image_url.as_str(),
                    last_image: video.last_image_url.as_deref(),
                })
            }
        };
        RenderRequest { work, audio }
    }
}

impl<I> ClipRequest<I> {
    /// The landscape frame; a portrait source turns it.
    pub fn pixels(&self) -> Pixels {
        self.resolution.pixels()
    }

    /// The same clip with other inputs (what the worker fetched for these).
    pub fn with_inputs<J>(self, image: J, last_image: Option<J>) -> ClipRequest<J> {
        ClipRequest {
            resolution: self.resolution,
            fps: self.fps,
            frame_count: self.frame_count,
            seconds: self.seconds,
            motion: self.motion,
            image,
            last_image,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::spec::{parse_batch, parse_single};
    use crate::domain::video::{EffectChoice, Order};
    use serde_json::json;

    fn video(body: serde_json::Value, batch: bool) -> Video {
        let catalogue = Catalogue::builtin();
        let (spec, kind) = if batch {
            (parse_batch(&body, catalogue).unwrap().0, VideoKind::Batch)
        } else {
            (parse_single(&body, catalogue).unwrap(), VideoKind::Single)
        };
        let order = Order {
            uid: 100001,
            team_id: "team",
            kind,
            at: 1_754_006_400_000,
        };
        Video::ordered(&spec, order, 1).remove(0)
    }

    fn single() -> serde_json::Value {
        json!({
            "image_url": "https://example.com/a.png",
            "prompt": "a slow pan left over the bay",
            "resolution": "1080p",
            "audio_type": 3,
            "video_length": 5,
        })
    }

    #[test]
    fn a_clip_has_its_pixels_frames_motion_and_inputs() {
        let v = video(single(), false);
        let request = RenderRequest::resolve(&v, Catalogue::builtin(), 24);
        let RenderWork::Clip(clip) = &request.work else {
            panic!("a single video is a clip: {request:?}")
        };
        assert_eq!(
            clip.pixels(),
            Pixels {
                width: 1920,
                height: 1080
            }
        );
        assert_eq!((clip.fps, clip.frame_count, clip.seconds), (24, 120, 5.0));
        assert_eq!(clip.motion, Motion::PanLeft);
        assert_eq!(
            (clip.image, clip.last_image),
            ("https://example.com/a.png", None)
        );
        assert_eq!(request.audio, Soundtrack::None);
    }

    #[test]
    fn an_effect_the_catalogue_knows_decides_the_motion_else_the_prompt_does() {
        let mut body = single();
        body["effect_code"] = json!("dolly_zoom_10000008");
        let mut v = video(body, false);
        let motion = |v: &Video| match RenderRequest::resolve(v, Catalogue::builtin(), 24).work {
            RenderWork::Clip(clip) => clip.motion,
            RenderWork::AudioUpdate => panic!("not a clip"),
        };
        assert_eq!(motion(&v), Motion::DollyZoom);
        v.effect = Some(EffectChoice {
            code: "retired_effect_1".into(),
            name: "Retired".into(),
        });
        assert_eq!(motion(&v), Motion::PanLeft);
    }

    #[test]
    fn the_soundtrack_follows_audio_type_then_generate_audio() {
        let mut body = single();
        body["audio_type"] = json!(2);
        body["audio_url"] = json!("https://example.com/a.mp3");
        let v = video(body, false);
        let request = RenderRequest::resolve(&v, Catalogue::builtin(), 24);
        assert_eq!(request.audio, Soundtrack::File("https://example.com/a.mp3"));

        let mut body = single();
        body["audio_type"] = json!(1);
        let v = video(body, false);
        let request = RenderRequest::resolve(&v, Catalogue::builtin(), 24);
        assert_eq!(request.audio, Soundtrack::Generated);

        let mut body = single();
        body.as_object_mut().unwrap().remove("audio_type");
        body["model_name"] = json!("I2VMotionV1");
        body["generate_audio"] = json!(true);
        body["last_image_url"] = json!("https://example.com/b.png");
        let v = video(body, true);
        let request = RenderRequest::resolve(&v, Catalogue::builtin(), 24);
        assert_eq!(request.audio, Soundtrack::Generated);
        let RenderWork::Clip(clip) = request.work else {
            panic!("a batch video is a clip")
        };
        assert_eq!(clip.last_image, Some("https://example.com/b.png"));
    }

    #[test]
    fn an_audio_update_draws_nothing() {
        let mut source = video(single(), false);
        source.video_duration = Some(5.0);
        let update = source.audio_update(AudioType::Generated, "", 1_754_006_500_000);
        let request = RenderRequest::resolve(&update, Catalogue::builtin(), 24);
        assert_eq!(request.work, RenderWork::AudioUpdate);
        assert_eq!(request.audio, Soundtrack::Generated);
    }
}
