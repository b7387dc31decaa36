/// `Faults` for `$store`. The backend passes `begin` (its writing transaction) and `row_lock`
/// (ends the read of the set a take advances, so that concurrent takes of one account take
/// turns: a `next: N` rule fires exactly N times whoever serves the requests).
macro_rules! faults {
    (
        $store:ty,
        begin = $begin:ident,
        row_lock = $row_lock:literal $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::store::Faults for $store {
            async fn faults(
                &self,
                uid: i64,
                kind: $crate::store::FaultKind,
            ) -> $crate::store::StoreResult<Option<Option<String>>> {
                let sql = match kind {
                    $crate::store::FaultKind::Api => $crate::store::sql::API_FAULTS,
                    $crate::store::FaultKind::Webhook => $crate::store::sql::WEBHOOK_FAULTS,
                };
                Ok(::sqlx::query_scalar(sql)
                    .bind(uid)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_faults(
                &self,
                uid: i64,
                kind: $crate::store::FaultKind,
                set: Option<&str>,
            ) -> $crate::store::StoreResult<bool> {
                let sql = match kind {
                    $crate::store::FaultKind::Api => $crate::store::sql::SET_API_FAULTS,
                    $crate::store::FaultKind::Webhook => $crate::store::sql::SET_WEBHOOK_FAULTS,
                };
                let done = ::sqlx::query(sql)
                    .bind(uid)
                    .bind(set)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn take_fault(
                &self,
                uid: i64,
                kind: $crate::store::FaultKind,
                subject: &str,
            ) -> $crate::store::StoreResult<Option<::serde_json::Value>> {
                // The lock clause must be part of the text, so the locked reads are spelled here.
                let (read, write) = match kind {
                    $crate::store::FaultKind::Api => (
                        concat!("SELECT api_faults FROM accounts WHERE uid = $1", $row_lock),
                        $crate::store::sql::SET_API_FAULTS,
                    ),
                    $crate::store::FaultKind::Webhook => (
                        concat!(
                            "SELECT webhook_faults FROM accounts WHERE uid = $1",
                            $row_lock
                        ),
                        $crate::store::sql::SET_WEBHOOK_FAULTS,
                    ),
                };
                let mut tx = self.$begin().await?;
                let stored: Option<Option<String>> = ::sqlx::query_scalar(read)
                    .bind(uid)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(stored) = stored.flatten() else {
                    return Ok(None);
                };
                let mut set =
                    $crate::domain::faults::FaultSet::parse_stored(&stored).ok_or_else(|| {
                        $crate::store::StoreError::Backend(
                            format!("stored fault set {stored:?} of account {uid} is not readable")
                                .into(),
                        )
                    })?;
                let before = set.clone();
                let effect = set.take(subject);
                // Rules that always fire, or a subject no rule names, leave the set as it was:
                // nothing to write.
                if set != before {
                    ::sqlx::query(write)
                        .bind(uid)
                        .bind(set.to_stored())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(effect)
            }
        }
    };
}

pub(in crate::store) use faults;
