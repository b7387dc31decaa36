//! What accounts do the PostgreSQL way; the rest of `Accounts` is `common::accounts`.

/// uid is an identity column: concurrent creations from several processes never collide.
pub(super) const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (team_id, name, credits, banned, created_at) \
     VALUES ($1, $2, $3, FALSE, $4) RETURNING uid";

pub(super) const ROTATE_SECRET: &str =
    "UPDATE credentials SET secret_hash = $2, sealed_secret = $3, \
     rotated_at = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT WHERE uid = $1";
