//! Videos on SQLite. `create_videos` is the one statement that names every column of a
//! video (reading them is `rows::video`); deletes are in `delete` (grouped by `group_commit`);
//! operator control is `common::video_control`.

use async_trait::async_trait;

use super::{delete, hex_array, SqliteStore};
use crate::domain::emulation::Lifecycle;
use crate::domain::ObjectId;
use crate::domain::Video;
use crate::store::{
    rows, sql, DeleteOutcome, DeleteRequest, ForcedStatus, PolledVideos, StoreResult, VideoFilter,
    VideoPage, Videos,
};

#[async_trait]
impl Videos for SqliteStore {
    async fn create_videos(&self, uid: i64, videos: Vec<Video>, now: i64) -> StoreResult<()> {
        // One create for rendered and emulated videos alike (queued outcomes apply to both).
        self.create_planned_grouped(uid, videos, &Lifecycle::Render, now)
            .await
            .map(|_| ())
    }

    async fn videos_by_ids(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<Vec<Video>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(videos) = self.on_read_path(|readers| readers.videos_by_ids(uid, ids)) {
            return Ok(videos);
        }
        let rows = sqlx::query(
            "SELECT * FROM videos WHERE uid = ?1 AND _id IN (SELECT value FROM json_each(?2))",
        )
        .bind(uid)
        .bind(hex_array(ids)?)
        .fetch_all(&self.pool)
        .await?;
        let videos = rows
            .iter()
            .map(rows::video)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(rows::in_request_order(ids, videos, |v| v.id))
    }

    async fn videos_for_poll(&self, uid: i64, ids: &[ObjectId]) -> StoreResult<PolledVideos> {
        let videos = self.videos_by_ids(uid, ids).await?;
        let scripts_move_on_polls =
            videos.iter().any(|v| v.status.is_unfinished()) && self.has_polled_scripts(uid).await?;
        Ok(PolledVideos {
            videos,
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
        let request = DeleteRequest {
            uid,
            ids: ids.to_vec(),
        };
        match &self.deletes {
            Some(group) => group.submit((request, now)).await,
            None => delete::alone(&self.pool, &request, now).await,
        }
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
