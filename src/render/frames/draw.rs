//! Drawing the frames of a plan: a crop-and-resize of the first image, cross-faded into the
//! last image's cover-fit, into the caller's buffer.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::error::FrameError;
use super::source::{SourceImage, ONE_OFF_FILTER};
use crate::render::plan::RenderPlan;

/// Per-frame filter: bicubic keeps zoomed-in frames sharp for ~20% more time than bilinear;
/// sources are pre-scaled, so it never has to shrink by much.
const FRAME_FILTER: ResizeAlg = ResizeAlg::Convolution(FilterType::CatmullRom);

/// Draws frames of a plan. Reuses buffers between frames.
pub struct FrameRenderer {
    plan: RenderPlan,
    first: SourceImage,
    last: Option<SourceImage>,
    /// The last image's cover-fit at the output size; drawn on first use.
    last_frame: Vec<u8>,
    resizer: Resizer,
}

impl FrameRenderer {
    /// The plan's `has_last_image` follows `last`, so the two cannot disagree.
    pub fn new(
        mut plan: RenderPlan,
        first: SourceImage,
        last: Option<SourceImage>,
    ) -> FrameRenderer {
        plan.has_last_image = last.is_some();
        let working = plan.working_size(first.width(), first.height());
        FrameRenderer {
            first: first.shrunk_to(working),
            plan,
            last,
            last_frame: Vec::new(),
            resizer: Resizer::new(),
        }
    }

    pub fn plan(&self) -> &RenderPlan {
        &self.plan
    }

    /// Bytes in one frame: width * height * 3.
    pub fn frame_len(&self) -> usize {
        self.plan.size.width as usize * self.plan.size.height as usize * 3
    }

    /// Writes frame `index` as packed RGB24 (row-major, top to bottom) into `out`
    /// (len == frame_len()).
    pub fn render(&mut self, index: u32, out: &mut [u8]) -> Result<(), FrameError> {
        self.check(index, out.len())?;
        // 0..=256 so that both ends are exact: 0 is only the first image, 256 only the last.
        let weight = (self.plan.last_image_weight(index) * 256.0).round() as u32;
        if weight < 256 {
            self.draw_first(index, out)?;
        }
        if weight > 0 {
            let last = self.last_frame()?;
            if weight == 256 {
                out.copy_from_slice(last);
            } else {
                blend(out, last, weight);
            }
        }
        Ok(())
    }

    fn check(&self, index: u32, len: usize) -> Result<(), FrameError> {
        if index >= self.plan.frame_count {
            return Err(FrameError::OutOfRange {
                index,
                frame_count: self.plan.frame_count,
            });
        }
        if len != self.frame_len() {
            return Err(FrameError::BufferSize {
                expected: self.frame_len(),
                actual: len,
            });
        }
        Ok(())
    }

    fn draw_first(&mut self, index: u32, out: &mut [u8]) -> Result<(), FrameError> {
        let view = self
            .plan
            .viewport(index, self.first.width(), self.first.height());
        let options = ResizeOptions::new().resize_alg(FRAME_FILTER).crop(
            view.left,
            view.top,
            view.width,
            view.height,
        );
        let mut frame = self.output_image(out)?;
        self.resizer
            .resize(&self.first.pixels, &mut frame, &options)
            .map_err(|e| FrameError::Resize(e.to_string()))
    }

    fn last_frame(&mut self) -> Result<&[u8], FrameError> {
        if self.last_frame.is_empty() {
            let Some(last) = &self.last else {
                return Err(FrameError::Resize(
                    "the plan fades to a missing last image".into(),
                ));
            };
            let mut buffer = vec![0; self.frame_len()];
            let mut frame = self.output_image(&mut buffer)?;
            let options = ResizeOptions::new()
                .resize_alg(ONE_OFF_FILTER)
                .fit_into_destination(None);
            self.resizer
                .resize(&last.pixels, &mut frame, &options)
                .map_err(|e| FrameError::Resize(e.to_string()))?;
            self.last_frame = buffer;
        }
        Ok(&self.last_frame)
    }

    fn output_image<'a>(&self, buffer: &'a mut [u8]) -> Result<Image<'a>, FrameError> {
        let size = self.plan.size;
        Image::from_slice_u8(size.width, size.height, buffer, PixelType::U8x3)
            .map_err(|e| FrameError::Resize(e.to_string()))
    }
}

/// `out = out * (256 - weight) / 256 + last * weight / 256`, rounded; weight in 1..=255.
pub(super) fn blend(out: &mut [u8], last: &[u8], weight: u32) {
    let keep = 256 - weight;
    for (o, &l) in out.iter_mut().zip(last) {
        *o = ((u32::from(*o) * keep + u32::from(l) * weight + 128) >> 8) as u8;
    }
}
