/// Operator control of videos for `$store`, as inherent methods its `Videos` impl answers with
/// (the rest of `Videos` differs between engines). `begin` names the store's method that opens a
/// writing transaction; `row_lock` ends the read of the video being forced and `expire_lock` the
/// selection of outputs to expire (locking clauses, or nothing where the transaction already
/// holds the engine's only write lock). The backend's `tx` module supplies `drop_output`,
/// `enqueue_webhook` and `fail_and_refund`.
macro_rules! video_control {
    (
        $store:ty,
        begin = $begin:ident,
        row_lock = $row_lock:literal,
        expire_lock = $expire_lock:literal $(,)?
    ) => {
        impl $store {
            pub(super) async fn listed_videos(
                &self,
                uid: i64,
                filter: &$crate::store::VideoFilter,
            ) -> $crate::store::StoreResult<$crate::store::VideoPage> {
                use $crate::store::{rows, sql, VideoPage};
                let cursor = filter
                    .before
                    .map_or_else(|| sql::ABOVE_EVERY_ID.to_owned(), |id| id.to_hex());
                let pattern = filter
                    .prompt_contains
                    .as_deref()
                    .filter(|q| !q.is_empty())
                    .map($crate::store::policy::contains_pattern);
                let filtered = filter.status.is_some() || pattern.is_some();
                let found = if filtered {
                    ::sqlx::query(sql::LIST_FILTERED)
                        .bind(uid)
                        .bind(&cursor)
                        .bind($crate::store::videos::LIST_WINDOW)
                        .bind(filter.status)
                        .bind(pattern)
                        .bind(filter.limit)
                        .fetch_all(&self.pool)
                        .await?
                } else {
                    ::sqlx::query(sql::LIST_VIDEOS)
                        .bind(uid)
                        .bind(&cursor)
                        .bind(filter.limit)
                        .fetch_all(&self.pool)
                        .await?
                };
                let videos = found.iter().map(rows::video).collect::<$crate::store::StoreResult<Vec<_>>>()?;
                if let Some(last) = videos.last().filter(|_| videos.len() as i64 == filter.limit) {
                    let next = Some(last.id);
                    return Ok(VideoPage { videos, next });
                }
                if !filtered {
                    return Ok(VideoPage { videos, next: None });
                }
                // Fewer matches than asked for: the next page starts after this window, if the
                // window was full.
                let end: Option<String> = ::sqlx::query_scalar(sql::WINDOW_END)
                    .bind(uid)
                    .bind(&cursor)
                    .bind($crate::store::videos::LIST_WINDOW - 1)
                    .fetch_optional(&self.pool)
                    .await?;
                let next = end.as_deref().and_then($crate::domain::ObjectId::parse);
                Ok(VideoPage { videos, next })
            }

            pub(super) async fn forced_status(
                &self,
                id: $crate::domain::ObjectId,
                to: $crate::store::ForcedStatus,
                now: i64,
            ) -> $crate::store::StoreResult<Option<$crate::domain::Video>> {
                let hex = id.to_hex();
                let mut tx = self.$begin().await?;
                let exists: Option<i64> = ::sqlx::query_scalar(concat!("SELECT status FROM videos WHERE _id = $1", $row_lock))
                    .bind(&hex)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                tx::drop_output(&mut tx, &hex, now).await?;
                // An operator's status wins over an emulator script: the video leaves it.
                ::sqlx::query($crate::store::sql::DROP_SCRIPT).bind(&hex).execute(&mut *tx).await?;
                match to {
                    $crate::store::ForcedStatus::Hold => {
                        ::sqlx::query($crate::store::sql::HOLD)
                            .bind(&hex)
                            .bind($crate::store::HOLD_OWNER)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        tx::enqueue_webhook(&mut tx, &hex, now).await?;
                    }
                    $crate::store::ForcedStatus::Requeue => {
                        ::sqlx::query($crate::store::sql::REQUEUE_AFRESH)
                            .bind(&hex)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    $crate::store::ForcedStatus::Fail(reason) => tx::fail_and_refund(&mut tx, &hex, &reason, now).await?,
                }
                let row = ::sqlx::query($crate::store::sql::VIDEO)
                    .bind(&hex)
                    .fetch_one(&mut *tx)
                    .await?;
                let video = $crate::store::rows::video(&row)?;
                tx.commit().await?;
                Ok(Some(video))
            }

            /// Retention of every account, or of one (an account whose clock is ahead).
            pub(super) async fn expired_outputs(
                &self,
                completed_before: i64,
                now: i64,
                limit: i64,
                uid: Option<i64>,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.$begin().await?;
                let query = match uid {
                    None => ::sqlx::query_scalar(concat!(
                        "SELECT _id FROM videos WHERE status = 3 AND blob_key IS NOT NULL AND update_time < $1 \
                         ORDER BY update_time LIMIT $2",
                        $expire_lock,
                    )),
                    // Its own statement: the server-wide one keeps its plan on the partial index.
                    Some(_) => ::sqlx::query_scalar(concat!(
                        "SELECT _id FROM videos WHERE status = 3 AND blob_key IS NOT NULL AND update_time < $1 \
                         AND uid = $3 ORDER BY update_time LIMIT $2",
                        $expire_lock,
                    )),
                };
                let query = query.bind(completed_before).bind(limit);
                let query = match uid {
                    Some(uid) => query.bind(uid),
                    None => query,
                };
                let ids: Vec<String> = query.fetch_all(&mut *tx).await?;
                for id in &ids {
                    tx::drop_output(&mut tx, id, now).await?;
                }
                tx.commit().await?;
                Ok(ids.len() as u64)
            }
        }
    };
}

pub(in crate::store) use video_control;
