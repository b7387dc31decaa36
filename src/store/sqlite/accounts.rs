//! What accounts do the SQLite way; the rest of `Accounts` is `common::accounts`.

/// uids continue from the highest one (the write lock makes this race-free).
pub(super) const INSERT_ACCOUNT: &str =
    "INSERT INTO accounts (uid, team_id, name, credits, banned, created_at) \
     VALUES ((SELECT COALESCE(MAX(uid), 100000) + 1 FROM accounts), $1, $2, $3, 0, $4) \
     RETURNING uid";

pub(super) const ROTATE_SECRET: &str =
    "UPDATE credentials SET secret_hash = $2, sealed_secret = $3, \
     rotated_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE uid = $1";
