//! Videos as their owners and operators see them: create, read, delete (DESIGN §4), operator
//! control and retention.

use async_trait::async_trait;

use super::{DeleteOutcome, ForcedStatus, PolledVideos, StoreResult, VideoFilter, VideoPage};
use crate::domain::ObjectId;
use crate::domain::Video;

/// Videos a filtered page looks at, at most: the bound on its cost however many videos an
/// account has and however few match.
pub const LIST_WINDOW: i64 = 5_000;

#[async_trait]
pub trait Videos: Send + Sync + 'static {
    /// Charges `sum(deduction_credit)` and inserts the videos (status 1), all or nothing.
    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()>;
    /// The caller's videos among `ids`, in the order of `ids`; others are left out.
    async fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>>;
    /// `videos_by_ids` for a poll (resultsByIds), read together with what the poll needs next:
    /// whether the account has videos scripted to move on polls (emulator controls). Polls are
    /// most of the traffic, and most of them find an unfinished video: on PostgreSQL both come
    /// in one round trip.
    async fn videos_for_poll(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<PolledVideos>;
    /// The caller's videos that `filter` selects, newest first (ids decrease), at most
    /// `filter.limit`, and where the next page starts. With a status or prompt filter a page
    /// looks at no more than `LIST_WINDOW` of the account's videos.
    async fn list_videos(&self, uid: i64, filter: &VideoFilter) -> StoreResult<VideoPage>;
    /// DESIGN §4 step 2: in one transaction delete the caller's videos among `ids` that are not
    /// processing, stage their files in the deletion outbox, and report which of the remaining ids
    /// are the caller's processing videos. Concurrent calls are each answered exactly as if they
    /// had run one after another (a backend may commit several in one transaction).
    async fn delete_videos(
        &self,
        uid: i64,
        ids: &[ObjectId],
        now: i64,
    ) -> StoreResult<DeleteOutcome>;
    /// The output file of a completed video (whoever owns it); `None` for anything else.
    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>>;
    /// Operator control of a video's status (see `ForcedStatus`). `None` when no such video.
    async fn force_status(
        &self,
        id: ObjectId,
        to: ForcedStatus,
        now: i64,
    ) -> StoreResult<Option<Video>>;
    /// Retention: forgets the output of up to `limit` videos completed before `completed_before`
    /// (their files go to the deletion outbox; the records stay, without `video_url`).
    async fn expire_outputs(&self, completed_before: i64, now: i64, limit: i64)
        -> StoreResult<u64>;
}
