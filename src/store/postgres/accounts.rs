use async_trait::async_trait;

use super::{tx, PgStore};
use crate::store::{policy, rows, sql, Account, Accounts, AuthRecord, NewAccount, StoreResult};

#[async_trait]
impl Accounts for PgStore {
    async fn create_account(&self, new: NewAccount) -> StoreResult<Account> {
        let mut tx = self.tx().await?;
        // uid is an identity column: concurrent creations from several processes never collide.
        let uid: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (team_id, name, credits, banned, created_at) \
             VALUES ($1, $2, $3, FALSE, $4) RETURNING uid",
        )
        .bind(&new.team_id)
        .bind(&new.name)
        .bind(new.credits)
        .bind(new.created_at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(sql::INSERT_CREDENTIALS)
            .bind(uid)
            .bind(&new.client_id)
            .bind(&new.secret_hash)
            .bind(&new.sealed_secret)
            .execute(&mut *tx)
            .await?;
        if new.credits != 0 {
            sqlx::query(sql::LEDGER_ROW)
                .bind(uid)
                .bind(new.credits)
                .bind("grant")
                .bind(new.created_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Account {
            uid,
            team_id: new.team_id,
            name: new.name,
            credits: new.credits,
            banned: false,
            created_at: new.created_at,
        })
    }

    async fn account(&self, uid: i64) -> StoreResult<Option<Account>> {
        let row = sqlx::query(sql::ACCOUNT)
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn auth_by_key_hash(&self, secret_hash: &str) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sql::AUTH_BY_KEY_HASH)
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn auth_by_client_id(&self, client_id: &str) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sql::AUTH_BY_CLIENT_ID)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn auth_by_uid(&self, uid: i64) -> StoreResult<Option<AuthRecord>> {
        let row = sqlx::query(sql::AUTH_BY_UID)
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::auth).transpose()
    }

    async fn set_banned(&self, uid: i64, banned: bool) -> StoreResult<bool> {
        let done = sqlx::query(sql::SET_BANNED)
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
    ) -> StoreResult<i64> {
        let mut tx = self.tx().await?;
        let balance = policy::balance_after(tx::lock_balance(&mut tx, uid).await?, amount)?;
        sqlx::query(sql::ADD_CREDITS)
            .bind(uid)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::LEDGER_ROW)
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
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE credentials SET secret_hash = $2, sealed_secret = $3, \
             rotated_at = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT WHERE uid = $1",
        )
        .bind(uid)
        .bind(secret_hash)
        .bind(sealed_secret)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn ledger_sum(&self, uid: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(sql::LEDGER_SUM)
            .bind(uid)
            .fetch_one(&self.pool)
            .await?)
    }
}
