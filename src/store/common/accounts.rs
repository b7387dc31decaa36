/// `Accounts` for `$store`. The backend passes what its engine does its own way: `begin` (the
/// method opening a writing transaction), `insert_account` (the statement that picks the new
/// uid), `balance` (reads an account's balance so that it stays current until commit) and
/// `rotate_secret` (the statement that stamps the database's own clock).
macro_rules! accounts {
    (
        $store:ty,
        begin = $begin:ident,
        insert_account = $insert_account:expr,
        balance = $balance:path,
        rotate_secret = $rotate_secret:expr $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::store::Accounts for $store {
            async fn create_account(
                &self,
                new: $crate::store::NewAccount,
            ) -> $crate::store::StoreResult<$crate::store::Account> {
                let mut tx = self.$begin().await?;
                let uid: i64 = ::sqlx::query_scalar($insert_account)
                    .bind(&new.team_id)
                    .bind(&new.name)
                    .bind(new.credits)
                    .bind(new.created_at)
                    .fetch_one(&mut *tx)
                    .await?;
                ::sqlx::query($crate::store::sql::INSERT_CREDENTIALS)
                    .bind(uid)
                    .bind(&new.client_id)
                    .bind(&new.secret_hash)
                    .bind(&new.sealed_secret)
                    .execute(&mut *tx)
                    .await?;
                if new.credits != 0 {
                    ::sqlx::query($crate::store::sql::LEDGER_ROW)
                        .bind(uid)
                        .bind(new.credits)
                        .bind("grant")
                        .bind(new.created_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok($crate::store::Account {
                    uid,
                    team_id: new.team_id,
                    name: new.name,
                    credits: new.credits,
                    banned: false,
                    created_at: new.created_at,
                })
            }

            async fn account(
                &self,
                uid: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::Account>> {
                let row = ::sqlx::query($crate::store::sql::ACCOUNT)
                    .bind(uid)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::store::rows::account).transpose()
            }

            async fn accounts_after(
                &self,
                after: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Account>> {
                let rows = ::sqlx::query($crate::store::sql::ACCOUNTS_AFTER)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::store::rows::account).collect()
            }

            async fn auth_by_key_hash(
                &self,
                secret_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::AuthRecord>> {
                let row = ::sqlx::query($crate::store::sql::AUTH_BY_KEY_HASH)
                    .bind(secret_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::store::rows::auth).transpose()
            }

            async fn auth_by_client_id(
                &self,
                client_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::AuthRecord>> {
                let row = ::sqlx::query($crate::store::sql::AUTH_BY_CLIENT_ID)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::store::rows::auth).transpose()
            }

            async fn auth_by_uid(
                &self,
                uid: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::AuthRecord>> {
                let row = ::sqlx::query($crate::store::sql::AUTH_BY_UID)
                    .bind(uid)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::store::rows::auth).transpose()
            }

            async fn set_banned(&self, uid: i64, banned: bool) -> $crate::store::StoreResult<bool> {
                let done = ::sqlx::query($crate::store::sql::SET_BANNED)
                    .bind(uid)
                    .bind(banned)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn adjust_credits(
                &self,
                uid: i64,
                amount: i64,
                reason: &str,
                now: i64,
            ) -> $crate::store::StoreResult<i64> {
                let mut tx = self.$begin().await?;
                let balance =
                    $crate::store::policy::balance_after($balance(&mut tx, uid).await?, amount)?;
                ::sqlx::query($crate::store::sql::ADD_CREDITS)
                    .bind(uid)
                    .bind(amount)
                    .execute(&mut *tx)
                    .await?;
                ::sqlx::query($crate::store::sql::LEDGER_ROW)
                    .bind(uid)
                    .bind(amount)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(balance)
            }

            async fn rotate_secret(
                &self,
                uid: i64,
                secret_hash: &str,
                sealed_secret: &str,
            ) -> $crate::store::StoreResult<bool> {
                let done = ::sqlx::query($rotate_secret)
                    .bind(uid)
                    .bind(secret_hash)
                    .bind(sealed_secret)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn ledger_sum(&self, uid: i64) -> $crate::store::StoreResult<i64> {
                Ok(::sqlx::query_scalar($crate::store::sql::LEDGER_SUM)
                    .bind(uid)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn ledger(
                &self,
                uid: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::LedgerEntry>> {
                let rows: Vec<(i64, i64, String, Option<String>, i64)> =
                    ::sqlx::query_as($crate::store::sql::LEDGER)
                        .bind(uid)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(id, amount, reason, video_id, at)| $crate::store::LedgerEntry {
                            id,
                            amount,
                            reason,
                            video_id,
                            at,
                        },
                    )
                    .collect())
            }
        }
    };
}

pub(in crate::store) use accounts;
