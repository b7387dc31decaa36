/// `RequestJournal` for `$store`. The backend passes `begin` (its writing transaction), `pool`
/// (the field holding the journal's table), `append` (an async function that inserts entries, in
/// their order, in that transaction).
macro_rules! request_journal {
    (
        $store:ty,
        begin = $begin:ident,
        pool = $pool:ident,
        append = $append:path $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::store::RequestJournal for $store {
            async fn append_requests(
                &self,
                entries: &[$crate::store::JournalEntry],
                max_per_account: i64,
            ) -> $crate::store::StoreResult<()> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut tx = self.$begin().await?;
                $append(&mut tx, entries).await?;
                let kept = max_per_account.max(0);
                let groups: ::std::collections::BTreeSet<Option<i64>> =
                    entries.iter().map(|e| e.uid).collect();
                for uid in groups {
                    match uid {
                        Some(uid) => ::sqlx::query($crate::store::sql::JOURNAL_TRIM)
                            .bind(uid)
                            .bind(kept),
                        None => {
                            ::sqlx::query($crate::store::sql::JOURNAL_TRIM_ANONYMOUS).bind(kept)
                        }
                    }
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn requests(
                &self,
                filter: &$crate::store::JournalFilter,
            ) -> $crate::store::StoreResult<Vec<$crate::store::JournalEntry>> {
                let rows = ::sqlx::query($crate::store::sql::JOURNAL)
                    .bind(filter.uid)
                    .bind(filter.path.as_deref())
                    .bind(filter.code)
                    .bind(filter.since_id)
                    .bind(filter.limit.max(0))
                    .fetch_all(&self.$pool)
                    .await?;
                rows.iter()
                    .map($crate::store::rows::journal_entry)
                    .collect()
            }

            async fn clear_requests(&self, uid: Option<i64>) -> $crate::store::StoreResult<u64> {
                let done = ::sqlx::query($crate::store::sql::JOURNAL_CLEAR)
                    .bind(uid)
                    .execute(&self.$pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(in crate::store) use request_journal;
