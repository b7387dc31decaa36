//! Still-frame clips made once per size, length and frame rate and then served from memory, so
//! that lifecycles completing a video at once cost a copy of `Bytes`, not an ffmpeg run: a test
//! suite can create thousands of videos from a handful of encodes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};

use super::ffmpeg::{encode_still_clip, FfmpegError};
use super::RenderError;

/// Most distinct clips kept; a still clip is tiny (1080p 10 s: 19 kB, 4k 10 s: 37 kB), so the
/// cache stays under a few MB. Past it clips are encoded on every call rather than evicting:
/// real use asks for few sizes.
const MAX_CACHED: usize = 64;

/// Largest width or height accepted (8k is 7680 wide).
const MAX_SIDE: u32 = 8192;

/// Most ffmpeg runs at once here, so a burst of uncached sizes cannot flood the machine.
const MAX_CONCURRENT_ENCODES: usize = 2;

/// Width, height, seconds, fps.
type Key = (u32, u32, u32, u32);

/// The still-clip cache. Cheap to clone: clones share one cache.
#[derive(Clone)]
pub struct StillClips {
    inner: Arc<Inner>,
}

struct Inner {
    ffmpeg: String,
    work_dir: PathBuf,
    timeout: Duration,
    /// One cell per key, so that concurrent first callers wait for a single encode. A cell
    /// left empty by a failed encode is tried again by the next caller.
    clips: Mutex<HashMap<Key, Arc<OnceCell<Bytes>>>>,
    encodes: Semaphore,
    /// The cache-full warning is logged once, not on every uncached call.
    full_logged: AtomicBool,
    #[cfg(test)]
    encoded: std::sync::atomic::AtomicUsize,
}

impl StillClips {
    /// `work_dir` holds each encode's private temporary directory (created when missing).
    pub fn new(ffmpeg_program: String, work_dir: PathBuf, timeout: Duration) -> StillClips {
        StillClips {
            inner: Arc::new(Inner {
                ffmpeg: ffmpeg_program,
                work_dir,
                timeout,
                clips: Mutex::new(HashMap::new()),
                encodes: Semaphore::new(MAX_CONCURRENT_ENCODES),
                full_logged: AtomicBool::new(false),
                #[cfg(test)]
                encoded: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// An MP4 of one still frame, `width`x`height` (even, at most 8192), `seconds` long at `fps`,
    /// with a silent stereo track. Encoded on the first call for these values, from memory after.
    pub async fn get(
        &self,
        width: u32,
        height: u32,
        seconds: u32,
        fps: u32,
    ) -> Result<Bytes, RenderError> {
        check(width, height, seconds, fps)?;
        let key = (width, height, seconds, fps);
        let Some(cell) = self.cell(key) else {
            return self.inner.encode(key).await;
        };
        let made = cell.get_or_try_init(|| self.inner.encode(key)).await;
        if made.is_err() {
            self.forget_failed(key, &cell);
        }
        made.cloned()
    }

    /// The key's cell, added when there is room; `None` when the cache is full.
    fn cell(&self, key: Key) -> Option<Arc<OnceCell<Bytes>>> {
        let mut clips = self.inner.clips.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = clips.get(&key) {
            return Some(cell.clone());
        }
        if clips.len() >= MAX_CACHED {
            if !self.inner.full_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    max = MAX_CACHED,
                    "still-clip cache full: further sizes are encoded on every request"
                );
            }
            return None;
        }
        let cell = Arc::new(OnceCell::new());
        clips.insert(key, cell.clone());
        Some(cell)
    }

    /// Frees the slot of a key whose encode failed, so failures do not fill the cache.
    fn forget_failed(&self, key: Key, cell: &Arc<OnceCell<Bytes>>) {
        let mut clips = self.inner.clips.lock().unwrap_or_else(|e| e.into_inner());
        if clips
            .get(&key)
            .is_some_and(|c| Arc::ptr_eq(c, cell) && !c.initialized())
        {
            clips.remove(&key);
        }
    }

    #[cfg(test)]
    fn encoded(&self) -> usize {
        self.inner.encoded.load(Ordering::SeqCst)
    }
}

fn check(width: u32, height: u32, seconds: u32, fps: u32) -> Result<(), RenderError> {
    let side = |s: u32| s > 0 && s <= MAX_SIDE && s % 2 == 0;
    if !side(width) || !side(height) {
        return Err(RenderError::Input(format!(
            "a clip must be an even number of pixels wide and high, at most {MAX_SIDE}"
        )));
    }
    if seconds == 0 || fps == 0 || fps > 120 {
        return Err(RenderError::Input(
            "a clip must last at least a second, at 1 to 120 fps".into(),
        ));
    }
    Ok(())
}

impl Inner {
    async fn encode(&self, (width, height, seconds, fps): Key) -> Result<Bytes, RenderError> {
        let _turn = self
            .encodes
            .acquire()
            .await
            .map_err(|_| RenderError::Unavailable("still clips shut down".into()))?;
        #[cfg(test)]
        self.encoded.fetch_add(1, Ordering::SeqCst);
        // The path stays in the log: these reasons may reach an API user.
        let disk = |e: std::io::Error| {
            tracing::error!(dir = %self.work_dir.display(), error = %e, "still clip work dir");
            RenderError::Unavailable("local disk error".into())
        };
        tokio::fs::create_dir_all(&self.work_dir)
            .await
            .map_err(disk)?;
        let dir = tempfile::Builder::new()
            .prefix("still-")
            .tempdir_in(&self.work_dir)
            .map_err(disk)?;
        let out = dir.path().join("still.mp4");
        encode_still_clip(
            &self.ffmpeg,
            width,
            height,
            seconds,
            fps,
            &out,
            self.timeout,
        )
        .await
        .map_err(ffmpeg_error)?;
        let bytes = tokio::fs::read(&out).await.map_err(disk)?;
        dir.close().map_err(disk)?;
        Ok(Bytes::from(bytes))
    }
}

/// The inputs are ours and checked, so any ffmpeg failure is the server's, never the request's.
/// What ffmpeg said goes to the log only.
fn ffmpeg_error(e: FfmpegError) -> RenderError {
    tracing::warn!(error = %e, detail = e.detail(), "encoding a still clip failed");
    match e {
        FfmpegError::NotInstalled => RenderError::Unavailable(e.to_string()),
        FfmpegError::TimedOut(limit) => RenderError::Unavailable(format!(
            "making the clip timed out after {}s",
            limit.as_secs()
        )),
        FfmpegError::Failed { .. } | FfmpegError::Io(_) | FfmpegError::Probe(_) => {
            RenderError::Unavailable(format!("making the clip failed: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::ffmpeg::available;

    fn clips(ffmpeg: &str, dir: &tempfile::TempDir) -> StillClips {
        StillClips::new(
            ffmpeg.into(),
            dir.path().join("tmp"),
            Duration::from_secs(120),
        )
    }

    #[tokio::test]
    async fn concurrent_first_calls_encode_once_and_share_the_bytes() {
        if !available("ffmpeg").await {
            eprintln!("skipped: ffmpeg is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let clips = clips("ffmpeg", &dir);
        let (a, b) = tokio::join!(clips.get(320, 240, 2, 25), clips.get(320, 240, 2, 25));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(clips.encoded(), 1);
        assert_eq!(a, b);
        assert_eq!(&a[4..8], b"ftyp", "an MP4");
        let again = clips.clone().get(320, 240, 2, 25).await.unwrap();
        assert_eq!(again, a);
        assert_eq!(clips.encoded(), 1, "clones share the cache");
        clips.get(320, 240, 1, 25).await.unwrap();
        assert_eq!(clips.encoded(), 2, "another length is another clip");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp")).unwrap().collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let clips = clips("i2v-no-such-ffmpeg", &dir);
        for tries in 1..=2 {
            let failed = clips.get(64, 64, 1, 1).await;
            assert!(
                matches!(failed, Err(RenderError::Unavailable(_))),
                "{failed:?}"
            );
            assert_eq!(clips.encoded(), tries);
        }
        assert!(clips.inner.clips.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn odd_or_empty_sizes_are_refused_before_ffmpeg() {
        let dir = tempfile::tempdir().unwrap();
        let clips = clips("i2v-no-such-ffmpeg", &dir);
        for (w, h, s, fps) in [(321, 240, 1, 1), (0, 2, 1, 1), (2, 2, 0, 1), (2, 2, 1, 0)] {
            let refused = clips.get(w, h, s, fps).await;
            assert!(matches!(refused, Err(RenderError::Input(_))), "{refused:?}");
        }
        assert_eq!(clips.encoded(), 0);
    }

    #[tokio::test]
    async fn past_the_bound_clips_are_made_but_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let clips = clips("i2v-no-such-ffmpeg", &dir);
        {
            let mut cached = clips.inner.clips.lock().unwrap();
            for n in 0..MAX_CACHED as u32 {
                let cell = OnceCell::new_with(Some(Bytes::from_static(b"clip")));
                cached.insert((2, 2, n + 1, 1), Arc::new(cell));
            }
        }
        assert_eq!(&clips.get(2, 2, 1, 1).await.unwrap()[..], b"clip");
        assert!(
            clips.get(2, 2, 1000, 1).await.is_err(),
            "encoded, not cached"
        );
        assert_eq!(clips.encoded(), 1);
        assert_eq!(clips.inner.clips.lock().unwrap().len(), MAX_CACHED);
    }
}
