//! The render benchmark: for 720p and 1080p 5-second clips from a 4000x3000 source, the whole
//! pipeline (decode, draw frames, encode with ffmpeg, probe) next to bare ffmpeg encoding of the
//! same frames, with frames per second and real-time factor.

use std::time::{Duration, Instant};

use i2v::domain::catalogue::Resolution;
use i2v::domain::motion::Motion;
use i2v::render::ffmpeg::{self, AudioSource, EncodeSpec, InputFile};
use i2v::render::frames::{self, FrameRenderer};
use i2v::render::plan::{output_size, RenderPlan};
use tokio::sync::mpsc;

const SECONDS: f64 = 5.0;
const FPS: u32 = 24;

fn source_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let grid = if x % 100 < 4 || y % 100 < 4 { 255 } else { 0 };
        image::Rgb([(x * 255 / 4000) as u8, (y * 255 / 3000) as u8, grid])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode source");
    out.into_inner()
}

pub async fn run() -> anyhow::Result<()> {
    if !ffmpeg::available("ffmpeg").await {
        anyhow::bail!("ffmpeg is not installed (apt-get install ffmpeg)");
    }
    let png = source_png();
    let dir = tempfile::tempdir()?;
    println!("| clip | stage | wall s | frames/s | real-time factor |");
    println!("|---|---|---|---|---|");
    for resolution in [Resolution::P720, Resolution::P1080] {
        let name = resolution.value();
        let pipeline = pipeline(&png, resolution, dir.path()).await?;
        let frames = draw_all(&png, resolution)?;
        let bare = bare_encode(&frames, resolution, dir.path()).await?;
        let n = frames.len() as f64;
        for (stage, wall) in [("whole pipeline", pipeline), ("bare ffmpeg encode", bare)] {
            let secs = wall.as_secs_f64();
            println!(
                "| {name} {SECONDS} s | {stage} | {secs:.2} | {:.1} | {:.2}x |",
                n / secs,
                SECONDS / secs
            );
        }
        println!(
            "| {name} {SECONDS} s | pipeline / bare | {:.2} | | |",
            pipeline.as_secs_f64() / bare.as_secs_f64()
        );
    }
    Ok(())
}

fn spec(resolution: Resolution, out: &std::path::Path) -> EncodeSpec {
    let size = output_size(resolution, 4000, 3000);
    EncodeSpec {
        width: size.width,
        height: size.height,
        fps: FPS,
        seconds: SECONDS,
        audio: AudioSource::None,
        preset: "veryfast".into(),
        crf: 20,
        output: out.to_path_buf(),
    }
}

fn plan_for(resolution: Resolution, source: &frames::SourceImage) -> RenderPlan {
    let (width, height) = source.source_size();
    let size = output_size(resolution, width, height);
    RenderPlan::new(size, FPS, SECONDS, Motion::KenBurns, false)
}

/// Decodes as the renderer does: shrunk at once to what the output needs.
fn decode(png: &[u8], resolution: Resolution) -> Result<frames::SourceImage, frames::FrameError> {
    frames::decode(png, frames::MAX_PIXELS, |w, h| {
        output_size(resolution, w, h).working_size(w, h)
    })
}

/// Every frame of the clip in memory (untimed), for the bare-encoder run.
fn draw_all(png: &[u8], resolution: Resolution) -> anyhow::Result<Vec<Vec<u8>>> {
    let source = decode(png, resolution)?;
    let plan = plan_for(resolution, &source);
    let count = plan.frame_count;
    let mut renderer = FrameRenderer::new(plan, source, None);
    let mut all = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut frame = vec![0u8; renderer.frame_len()];
        renderer.render(i, &mut frame)?;
        all.push(frame);
    }
    Ok(all)
}

/// The renderer's path end to end.
async fn pipeline(
    png: &[u8],
    resolution: Resolution,
    dir: &std::path::Path,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let png = png.to_vec();
    let source = tokio::task::spawn_blocking(move || decode(&png, resolution)).await??;
    let plan = plan_for(resolution, &source);
    let count = plan.frame_count;
    let out = dir.join(format!("pipeline-{}.mp4", resolution.value()));
    let args = ffmpeg::encode_args(&spec(resolution, &out));
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let producer = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut renderer = FrameRenderer::new(plan, source, None);
        for i in 0..count {
            let mut frame = vec![0u8; renderer.frame_len()];
            renderer.render(i, &mut frame)?;
            tx.blocking_send(frame)?;
        }
        Ok(())
    });
    ffmpeg::encode("ffmpeg", &args, rx, Duration::from_secs(600)).await?;
    producer.await??;
    ffmpeg::duration("ffprobe", &InputFile::mp4(out), Duration::from_secs(60)).await?;
    Ok(started.elapsed())
}

async fn bare_encode(
    frames: &[Vec<u8>],
    resolution: Resolution,
    dir: &std::path::Path,
) -> anyhow::Result<Duration> {
    let out = dir.join(format!("bare-{}.mp4", resolution.value()));
    let args = ffmpeg::encode_args(&spec(resolution, &out));
    let (tx, rx) = mpsc::channel::<Vec<u8>>(frames.len());
    for frame in frames {
        tx.send(frame.clone()).await?;
    }
    drop(tx);
    let started = Instant::now();
    ffmpeg::encode("ffmpeg", &args, rx, Duration::from_secs(600)).await?;
    Ok(started.elapsed())
}
