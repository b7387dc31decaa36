//! Akool's four video statuses. The video row is also the render job: 1 = queued, 2 = claimed.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoStatus {
    Queued = 1,
    Processing = 2,
    Completed = 3,
    Failed = 4,
}

impl VideoStatus {
    pub fn code(self) -> i64 {
        self as i64
    }

    /// Queued or processing: a poll may still see it move.
    pub fn is_unfinished(self) -> bool {
        matches!(self, VideoStatus::Queued | VideoStatus::Processing)
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Queued),
            2 => Some(Self::Processing),
            3 => Some(Self::Completed),
            4 => Some(Self::Failed),
            _ => None,
        }
    }
}
