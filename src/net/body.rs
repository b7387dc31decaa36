//! Reading a response body under the size cap and the minimum rate, so a host trickling bytes
//! cannot hold a worker for the whole request timeout.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::time::Instant;

use super::error::{classify, show_duration, FetchError};
use super::outbound::Outbound;

impl Outbound {
    /// Reads the body under the size cap and the minimum rate. The rate is checked over
    /// consecutive windows (each starting when the previous one is judged), so a pause shorter
    /// than a window is fine as long as the window's total is.
    pub(super) async fn read_body(
        &self,
        resp: reqwest::Response,
        url: &url::Url,
        shown: String,
        max_bytes: u64,
    ) -> Result<Bytes, FetchError> {
        let rate_checked = self.min_bytes_per_sec > 0 && !self.rate_window.is_zero();
        let required = self.min_bytes_per_sec as f64 * self.rate_window.as_secs_f64();
        let too_slow = || FetchError::Network {
            url: shown.clone(),
            reason: format!(
                "sent fewer than {} bytes/s over {}",
                self.min_bytes_per_sec,
                show_duration(self.rate_window)
            ),
        };
        let mut body = BytesMut::new();
        let mut stream = resp.bytes_stream();
        let mut window_start = Instant::now();
        let mut window_bytes: u64 = 0;
        loop {
            // `None` (an unrepresentable deadline) means no rate check for this window.
            let deadline = rate_checked
                .then(|| window_start.checked_add(self.rate_window))
                .flatten();
            let next = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        if (window_bytes as f64) < required {
                            return Err(too_slow());
                        }
                        window_start = Instant::now();
                        window_bytes = 0;
                        continue;
                    }
                },
                None => stream.next().await,
            };
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| classify(url, &shown, e))?;
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(FetchError::TooLarge {
                    url: shown,
                    max: max_bytes,
                });
            }
            body.extend_from_slice(&chunk);
            window_bytes = window_bytes.saturating_add(chunk.len() as u64);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if (window_bytes as f64) < required {
                    return Err(too_slow());
                }
                window_start = Instant::now();
                window_bytes = 0;
            }
        }
        Ok(body.freeze())
    }
}
