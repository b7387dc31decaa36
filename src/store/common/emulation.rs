/// `Emulation` for `$store`. The backend passes `begin` (its writing transaction), `balance`
/// (reads an account's balance so that it stays current until commit: creates and resets of one
/// account take turns on it) and `row_lock` (ends the read of a video an operator takes over).
/// Retention of one account is `video_control`'s.
/// The backend's `tx` module supplies `enqueue_webhook`, `leased_attempts`, `fail_and_refund`
/// and `drop_output`. `has_polled` names the store's method that tells whether an account has
/// videos scripted to move on polls (every poll of an unfinished video asks it): the
/// `polled_scripts_in_pool` made here, or SQLite's read path in front of it. `create` names the
/// store's method that carries out `create_planned`: the `create_planned_alone` made here (a
/// transaction per call), or SQLite's group commit in front of it.
macro_rules! emulation {
    (
        $store:ty,
        begin = $begin:ident,
        balance = $balance:path,
        row_lock = $row_lock:literal,
        has_polled = $has_polled:ident,
        create = $create:ident $(,)?
    ) => {
        impl $store {
            /// `create_planned` in a transaction of its own.
            pub(super) async fn create_planned_alone(
                &self,
                uid: i64,
                videos: Vec<$crate::domain::Video>,
                lifecycle: &$crate::domain::emulation::Lifecycle,
                now: i64,
            ) -> $crate::store::StoreResult<Vec<Option<$crate::domain::emulation::Script>>> {
                let mut tx = self.$begin().await?;
                let scripts =
                    Self::create_planned_in(&mut tx, uid, &videos, lifecycle, now).await?;
                tx.commit().await?;
                Ok(scripts)
            }

            /// `create_planned` inside `tx` (which the caller commits). A refusal
            /// (`InsufficientCredits`, `NoSuchAccount`) comes before its first write, so the
            /// transaction may go on with other work; any other error must roll it back.
            pub(super) async fn create_planned_in(
                tx: &mut Tx,
                uid: i64,
                videos: &[$crate::domain::Video],
                lifecycle: &$crate::domain::emulation::Lifecycle,
                now: i64,
            ) -> $crate::store::StoreResult<Vec<Option<$crate::domain::emulation::Script>>> {
                let needed: i64 = videos.iter().map(|v| v.deduction_credit).sum();
                let balance = $balance(tx, uid).await?;
                $crate::store::policy::balance_after(balance, -needed)?;
                ::sqlx::query($crate::store::sql::ADD_CREDITS)
                    .bind(uid)
                    .bind(-needed)
                    .execute(&mut **tx)
                    .await?;
                let queued: Vec<(i64, String)> =
                    ::sqlx::query_as($crate::store::sql::NEXT_OUTCOMES)
                        .bind(uid)
                        .bind(videos.len() as i64)
                        .fetch_all(&mut **tx)
                        .await?;
                let mut outcomes = Vec::with_capacity(queued.len());
                for (id, stored) in &queued {
                    ::sqlx::query($crate::store::sql::TAKE_OUTCOME)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                    outcomes.push(Self::stored_outcome(stored)?);
                }
                let mut scripts = Vec::with_capacity(videos.len());
                for (n, v) in videos.iter().enumerate() {
                    let hex = v.id.to_hex();
                    $crate::store::rows::insert_video(uid, v)
                        .execute(&mut **tx)
                        .await?;
                    if v.deduction_credit != 0 {
                        ::sqlx::query($crate::store::sql::LEDGER_CHARGE)
                            .bind(uid)
                            .bind(-v.deduction_credit)
                            .bind(&hex)
                            .bind(now)
                            .execute(&mut **tx)
                            .await?;
                    }
                    let script = $crate::domain::emulation::Script::plan(
                        lifecycle,
                        outcomes.get(n),
                        v.create_time,
                    );
                    if let Some(script) = &script {
                        ::sqlx::query($crate::store::sql::SCRIPT_QUEUED)
                            .bind(&hex)
                            .bind($crate::store::SCRIPTED_RUN_AFTER)
                            .bind(v.update_time)
                            .execute(&mut **tx)
                            .await?;
                        ::sqlx::query($crate::store::sql::PUT_SCRIPT)
                            .bind(&hex)
                            .bind(uid)
                            .bind(script.timing.kind())
                            .bind(script.to_json())
                            .bind(script.due_at($crate::domain::VideoStatus::Queued, v.create_time))
                            .execute(&mut **tx)
                            .await?;
                    }
                    scripts.push(script);
                }
                Ok(scripts)
            }

            /// Whether `uid` has videos scripted to move on polls, read through the pool.
            async fn polled_scripts_in_pool(&self, uid: i64) -> $crate::store::StoreResult<bool> {
                let polled: i64 = ::sqlx::query_scalar($crate::store::sql::HAS_POLLED_SCRIPTS)
                    .bind(uid)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(polled > 0)
            }

            /// The scripts' JSON read back; a row the domain cannot read fails the read.
            fn stored_script(
                stored: &str,
            ) -> $crate::store::StoreResult<$crate::domain::emulation::Script> {
                $crate::domain::emulation::Script::parse_stored(stored).ok_or_else(|| {
                    $crate::store::StoreError::Backend(
                        format!("stored script {stored:?} is not readable").into(),
                    )
                })
            }

            fn stored_outcome(
                stored: &str,
            ) -> $crate::store::StoreResult<$crate::domain::emulation::Outcome> {
                $crate::domain::emulation::Outcome::parse_stored(stored).ok_or_else(|| {
                    $crate::store::StoreError::Backend(
                        format!("stored outcome {stored:?} is not readable").into(),
                    )
                })
            }

            async fn account_exists(&self, uid: i64) -> $crate::store::StoreResult<bool> {
                let found: Option<i64> = ::sqlx::query_scalar($crate::store::sql::ACCOUNT_EXISTS)
                    .bind(uid)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(found.is_some())
            }

            async fn queued_outcomes(
                &self,
                uid: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::emulation::Outcome>> {
                let rows: Vec<(i64, String)> = ::sqlx::query_as($crate::store::sql::OUTCOMES)
                    .bind(uid)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|(_, o)| Self::stored_outcome(o)).collect()
            }
        }

        #[::async_trait::async_trait]
        impl $crate::store::Emulation for $store {
            async fn emulation(
                &self,
                uid: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::EmulationState>> {
                let row: Option<(Option<String>, i64, i64)> =
                    ::sqlx::query_as($crate::store::sql::EMULATION)
                        .bind(uid)
                        .fetch_optional(&self.pool)
                        .await?;
                let Some((lifecycle, clock_offset_ms, outcomes_queued)) = row else {
                    return Ok(None);
                };
                let lifecycle = match lifecycle {
                    Some(stored) => Some(serde_json::from_str(&stored).map_err(|e| {
                        $crate::store::StoreError::Backend(
                            format!("stored lifecycle {stored:?}: {e}").into(),
                        )
                    })?),
                    None => None,
                };
                Ok(Some($crate::store::EmulationState {
                    lifecycle,
                    clock_offset_ms,
                    outcomes_queued,
                }))
            }

            async fn set_lifecycle(
                &self,
                uid: i64,
                lifecycle: Option<&$crate::domain::emulation::Lifecycle>,
            ) -> $crate::store::StoreResult<bool> {
                let done = ::sqlx::query($crate::store::sql::SET_LIFECYCLE)
                    .bind(uid)
                    .bind(lifecycle.map(|l| l.to_json()))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn advance_clock(
                &self,
                uid: Option<i64>,
                by_ms: i64,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.$begin().await?;
                let moved = ::sqlx::query($crate::store::sql::ADVANCE_CLOCKS)
                    .bind(uid)
                    .bind(by_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                ::sqlx::query($crate::store::sql::HASTEN_WEBHOOKS)
                    .bind(uid)
                    .bind(by_ms)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(moved)
            }

            async fn push_outcomes(
                &self,
                uid: i64,
                outcomes: &[$crate::domain::emulation::Outcome],
            ) -> $crate::store::StoreResult<Option<Vec<$crate::domain::emulation::Outcome>>> {
                let mut tx = self.$begin().await?;
                // Taking the balance's lock orders this after a create that is popping outcomes.
                match $balance(&mut tx, uid).await {
                    Err($crate::store::StoreError::NoSuchAccount(_)) => return Ok(None),
                    other => other?,
                };
                for outcome in outcomes {
                    ::sqlx::query($crate::store::sql::PUSH_OUTCOME)
                        .bind(uid)
                        .bind(outcome.to_json())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Some(self.queued_outcomes(uid).await?))
            }

            async fn outcomes(
                &self,
                uid: i64,
            ) -> $crate::store::StoreResult<Option<Vec<$crate::domain::emulation::Outcome>>> {
                if !self.account_exists(uid).await? {
                    return Ok(None);
                }
                Ok(Some(self.queued_outcomes(uid).await?))
            }

            async fn clear_outcomes(&self, uid: i64) -> $crate::store::StoreResult<bool> {
                if !self.account_exists(uid).await? {
                    return Ok(false);
                }
                ::sqlx::query($crate::store::sql::CLEAR_OUTCOMES)
                    .bind(uid)
                    .execute(&self.pool)
                    .await?;
                Ok(true)
            }

            async fn create_planned(
                &self,
                uid: i64,
                videos: Vec<$crate::domain::Video>,
                lifecycle: &$crate::domain::emulation::Lifecycle,
                now: i64,
            ) -> $crate::store::StoreResult<Vec<Option<$crate::domain::emulation::Script>>> {
                self.$create(uid, videos, lifecycle, now).await
            }

            async fn scripted(
                &self,
                id: $crate::domain::ObjectId,
            ) -> $crate::store::StoreResult<Option<$crate::store::ScriptedVideo>> {
                let hex = id.to_hex();
                let Some(row) = ::sqlx::query($crate::store::sql::VIDEO)
                    .bind(&hex)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let video = $crate::store::rows::video(&row)?;
                let script: Option<(String, i64)> = ::sqlx::query_as($crate::store::sql::SCRIPT_OF)
                    .bind(&hex)
                    .fetch_optional(&self.pool)
                    .await?;
                let (script, polls) = match script {
                    Some((stored, polls)) => (Some(Self::stored_script(&stored)?), polls),
                    None => (None, 0),
                };
                Ok(Some($crate::store::ScriptedVideo {
                    video,
                    script,
                    polls,
                }))
            }

            async fn take_step(
                &self,
                id: $crate::domain::ObjectId,
                step: $crate::store::ScriptStep,
                now: i64,
            ) -> $crate::store::StoreResult<bool> {
                let hex = id.to_hex();
                let mut tx = self.$begin().await?;
                match step {
                    $crate::store::ScriptStep::Start { due_at } => {
                        let started = ::sqlx::query($crate::store::sql::SCRIPT_START)
                            .bind(&hex)
                            .bind($crate::store::EMULATOR_OWNER)
                            .bind(now)
                            .bind($crate::store::SCRIPTED_RUN_AFTER)
                            .execute(&mut *tx)
                            .await?;
                        if started.rows_affected() != 1 {
                            return Ok(false);
                        }
                        tx::enqueue_webhook(&mut tx, &hex, now).await?;
                        ::sqlx::query($crate::store::sql::SCRIPT_DUE)
                            .bind(&hex)
                            .bind(due_at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    $crate::store::ScriptStep::Complete {
                        blob_key,
                        video_duration,
                    } => {
                        let completed = ::sqlx::query($crate::store::sql::COMPLETE)
                            .bind(&hex)
                            .bind($crate::store::EMULATOR_OWNER)
                            .bind(&blob_key)
                            .bind(video_duration)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        if completed.rows_affected() != 1 {
                            return Ok(false);
                        }
                        ::sqlx::query($crate::store::sql::UNSTAGE_BLOB)
                            .bind(&blob_key)
                            .execute(&mut *tx)
                            .await?;
                        tx::enqueue_webhook(&mut tx, &hex, now).await?;
                        ::sqlx::query($crate::store::sql::DROP_SCRIPT)
                            .bind(&hex)
                            .execute(&mut *tx)
                            .await?;
                    }
                    $crate::store::ScriptStep::Fail { reason } => {
                        if tx::leased_attempts(&mut tx, &hex, $crate::store::EMULATOR_OWNER)
                            .await?
                            .is_none()
                        {
                            return Ok(false);
                        }
                        tx::fail_and_refund(&mut tx, &hex, &reason, now).await?;
                        ::sqlx::query($crate::store::sql::DROP_SCRIPT)
                            .bind(&hex)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn set_script(
                &self,
                id: $crate::domain::ObjectId,
                script: &$crate::domain::emulation::Script,
                now: i64,
            ) -> $crate::store::StoreResult<$crate::store::TakeOver> {
                let hex = id.to_hex();
                let mut tx = self.$begin().await?;
                let Some(row) =
                    ::sqlx::query(concat!("SELECT * FROM videos WHERE _id = $1", $row_lock))
                        .bind(&hex)
                        .fetch_optional(&mut *tx)
                        .await?
                else {
                    return Ok($crate::store::TakeOver::NoVideo);
                };
                let video = $crate::store::rows::video(&row)?;
                let status = video.status;
                match status {
                    $crate::domain::VideoStatus::Queued => {
                        ::sqlx::query($crate::store::sql::SCRIPT_QUEUED)
                            .bind(&hex)
                            .bind($crate::store::SCRIPTED_RUN_AFTER)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    $crate::domain::VideoStatus::Processing => {
                        ::sqlx::query($crate::store::sql::SCRIPT_PROCESSING)
                            .bind(&hex)
                            .bind($crate::store::EMULATOR_OWNER)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    _ => return Ok($crate::store::TakeOver::Finished(video)),
                }
                ::sqlx::query($crate::store::sql::PUT_SCRIPT)
                    .bind(&hex)
                    .bind(video.uid)
                    .bind(script.timing.kind())
                    .bind(script.to_json())
                    .bind(script.due_at(status, now))
                    .execute(&mut *tx)
                    .await?;
                let row = ::sqlx::query($crate::store::sql::VIDEO)
                    .bind(&hex)
                    .fetch_one(&mut *tx)
                    .await?;
                let video = $crate::store::rows::video(&row)?;
                tx.commit().await?;
                Ok($crate::store::TakeOver::Taken(video))
            }

            async fn count_polls(
                &self,
                uid: i64,
                ids: &[$crate::domain::ObjectId],
            ) -> $crate::store::StoreResult<Vec<$crate::domain::ObjectId>> {
                // Most accounts have no such videos: find that out without a write.
                if ids.is_empty() || !self.$has_polled(uid).await? {
                    return Ok(Vec::new());
                }
                let mut tx = self.$begin().await?;
                let mut counted = Vec::new();
                for id in ids {
                    let done = ::sqlx::query($crate::store::sql::COUNT_POLL)
                        .bind(id.to_hex())
                        .bind(uid)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 1 {
                        counted.push(*id);
                    }
                }
                tx.commit().await?;
                Ok(counted)
            }

            async fn due_scripts(
                &self,
                server_now: i64,
                uid: Option<i64>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::ObjectId>> {
                let ids: Vec<String> = ::sqlx::query_scalar($crate::store::sql::DUE_SCRIPTS)
                    .bind(server_now)
                    .bind(uid)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                ids.iter()
                    .map(|id| $crate::store::rows::object_id(id))
                    .collect()
            }

            async fn advanced_clocks(&self) -> $crate::store::StoreResult<Vec<(i64, i64)>> {
                Ok(::sqlx::query_as($crate::store::sql::ADVANCED_CLOCKS)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn expire_outputs_of(
                &self,
                uid: i64,
                completed_before: i64,
                now: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<u64> {
                self.expired_outputs(completed_before, now, limit, Some(uid))
                    .await
            }

            async fn reset_account(
                &self,
                uid: i64,
                now: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::ResetReport>> {
                let mut tx = self.$begin().await?;
                let balance = match $balance(&mut tx, uid).await {
                    Err($crate::store::StoreError::NoSuchAccount(_)) => return Ok(None),
                    other => other?,
                };
                let grant: i64 = ::sqlx::query_scalar($crate::store::sql::INITIAL_GRANT)
                    .bind(uid)
                    .fetch_one(&mut *tx)
                    .await?;
                // Scripts go with their rows (ON DELETE CASCADE); a worker rendering one of these
                // videos finds its lease gone and writes nothing.
                let keys: Vec<Option<String>> =
                    ::sqlx::query_scalar($crate::store::sql::REMOVE_ACCOUNT_VIDEOS)
                        .bind(uid)
                        .fetch_all(&mut *tx)
                        .await?;
                let videos_removed = keys.len() as u64;
                let mut files = Vec::new();
                for blob_key in keys.into_iter().flatten() {
                    let id: i64 = ::sqlx::query_scalar($crate::store::sql::STAGE_BLOB)
                        .bind(&blob_key)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    files.push($crate::store::BlobDeletion { id, blob_key });
                }
                for statement in [
                    $crate::store::sql::REMOVE_ACCOUNT_WEBHOOKS,
                    $crate::store::sql::FORGET_LEDGER_VIDEOS,
                    $crate::store::sql::CLEAR_OUTCOMES,
                ] {
                    ::sqlx::query(statement).bind(uid).execute(&mut *tx).await?;
                }
                ::sqlx::query($crate::store::sql::RESET_ACCOUNT)
                    .bind(uid)
                    .bind(grant)
                    .execute(&mut *tx)
                    .await?;
                ::sqlx::query($crate::store::sql::LEDGER_ROW)
                    .bind(uid)
                    .bind(grant - balance)
                    .bind("reset")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some($crate::store::ResetReport {
                    videos_removed,
                    credits: grant,
                    files,
                }))
            }

            async fn account_uids(&self) -> $crate::store::StoreResult<Vec<i64>> {
                Ok(::sqlx::query_scalar($crate::store::sql::ACCOUNT_UIDS)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn seed_videos(
                &self,
                uid: i64,
                videos: Vec<$crate::domain::Video>,
                scripts: Vec<Option<$crate::domain::emulation::Script>>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.$begin().await?;
                $balance(&mut tx, uid).await?;
                for (v, script) in videos.iter().zip(&scripts) {
                    let hex = v.id.to_hex();
                    $crate::store::rows::insert_record(uid, v)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(blob_key) = &v.blob_key {
                        ::sqlx::query($crate::store::sql::UNSTAGE_BLOB)
                            .bind(blob_key)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let Some(script) = script else { continue };
                    let (statement, fence) = match v.status {
                        $crate::domain::VideoStatus::Queued => {
                            ($crate::store::sql::SCRIPT_QUEUED, None)
                        }
                        _ => (
                            $crate::store::sql::SCRIPT_PROCESSING,
                            Some($crate::store::EMULATOR_OWNER),
                        ),
                    };
                    let query = ::sqlx::query(statement).bind(&hex);
                    let query = match fence {
                        None => query.bind($crate::store::SCRIPTED_RUN_AFTER),
                        Some(owner) => query.bind(owner),
                    };
                    query.bind(v.update_time).execute(&mut *tx).await?;
                    ::sqlx::query($crate::store::sql::PUT_SCRIPT)
                        .bind(&hex)
                        .bind(uid)
                        .bind(script.timing.kind())
                        .bind(script.to_json())
                        .bind(script.due_at(v.status, v.update_time))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(in crate::store) use emulation;
