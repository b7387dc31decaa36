//! A render backend fast enough for races: a tiny file after a short pause. The outcome of each
//! attempt is a hash of the seed, the video and the attempt number, so that input failures,
//! passing faults (retries) and renders slow enough to lose a short lease are all in the mix.

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use i2v::domain::catalogue::Catalogue;
use i2v::render::{RenderError, RenderJob, Rendered, Renderer};

pub struct QuickRenderer {
    pub seed: u64,
}

#[async_trait]
impl Renderer for QuickRenderer {
    fn name(&self) -> &'static str {
        "race"
    }

    fn catalogue(&self) -> &'static Catalogue {
        Catalogue::builtin()
    }

    fn fps(&self, _model: &str) -> u32 {
        24
    }

    async fn render(&self, job: RenderJob<'_>, work_dir: &Path) -> Result<Rendered, RenderError> {
        let video = job.video;
        let mut h = std::hash::DefaultHasher::new();
        (self.seed, video.id.to_hex(), video.attempts).hash(&mut h);
        let roll = h.finish() % 100;
        // Mostly a few milliseconds; one in twenty long enough to outlive a short lease.
        let pause = if roll < 5 { 60 + roll * 20 } else { roll % 20 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        match roll {
            5..=9 => return Err(RenderError::Input("race: unusable input".into())),
            10..=19 => return Err(RenderError::Transient("race: image host busy".into())),
            _ => {}
        }
        let file = work_dir.join("out.mp4");
        let body = format!("race {} attempt {}", video.id, video.attempts);
        tokio::fs::write(&file, body)
            .await
            .map_err(|e| RenderError::Unavailable(format!("race: local disk error: {e}")))?;
        Ok(Rendered {
            file,
            duration: video.video_length as f64,
        })
    }
}
