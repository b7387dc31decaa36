//! Videos on PostgreSQL. `create_videos` is the one statement that names every column
//! of a video (reading them is `rows::video`); deletes are in `delete`; operator control is
//! `common::video_control`.

use async_trait::async_trait;
use sqlx::Row;

use super::{delete, hexes, PgStore};
use crate::domain::emulation::Lifecycle;
use crate::domain::ObjectId;
use crate::domain::Video;
use crate::store::{
    rows, sql, DeleteOutcome, Emulation, ForcedStatus, PolledVideos, StoreResult, VideoFilter,
    VideoPage, Videos,
};

#[async_trait]
impl Videos for PgStore {
    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()> {
        // One create for rendered and emulated videos alike (queued outcomes apply to both).
        self.create_planned(uid, videos, &Lifecycle::Render, now)
            .await
            .map(|_| ())
    }

    async fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = sqlx::query("SELECT * FROM videos WHERE uid = $1 AND _id = ANY($2)")
            .bind(uid)
            .bind(hexes(ids))
            .fetch_all(&self.pool)
            .await?;
        let videos = found
            .iter()
            .map(rows::video)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(rows::in_request_order(ids, videos, |v| v.id))
    }
    async fn videos_for_poll(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<PolledVideos> {
        if ids.is_empty() {
            return Ok(PolledVideos::default());
        }
        let found = sqlx::query(sql::VIDEOS_FOR_POLL)
            .bind(uid)
            .bind(hexes(ids))
            .fetch_all(&self.pool)
            .await?;
        let scripts_move_on_polls = match found.first() {
            Some(row) => row.try_get("scripts_move_on_polls")?,
            None => false,
        };
        let videos = found
            .iter()
            .map(rows::video)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(PolledVideos {
            videos: rows::in_request_order(ids, videos, |v| v.id),
            scripts_move_on_polls,
        })
    }

    async fn list_videos(&self, uid: i64, filter: &VideoFilter) -> StoreResult<VideoPage> {
        self.listed_videos(uid, filter).await
    }

    async fn delete_videos(
        &self,
        uid: i64,
        ids: &[ObjectId],
        now: i64,
    ) -> StoreResult<DeleteOutcome> {
        if ids.is_empty() {
            return Ok(DeleteOutcome::default());
        }
        delete::delete(&self.pool, uid, ids, now).await
    }

    async fn blob_key_of(&self, id: ObjectId) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(sql::BLOB_KEY_OF_COMPLETED)
            .bind(id.to_hex())
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    async fn force_status(
        &self,
        id: ObjectId,
        to: ForcedStatus,
        now: i64,
    ) -> StoreResult<Option<Video>> {
        self.forced_status(id, to, now).await
    }

    async fn expire_outputs(
        &self,
        completed_before: i64,
        now: i64,
        limit: i64,
    ) -> StoreResult<u64> {
        self.expired_outputs(completed_before, now, limit, None)
            .await
    }
}
