//! Statements both backends run word for word: SQLite and PostgreSQL accept the same text here
//! (`$N` parameters, `RETURNING`, `CAST`), and the migrations keep their tables alike. A backend
//! writes its own statement only where its engine needs another one (row locks, id lists, the
//! clock, identity columns); those live in its folder.
//!
//! Each statement names its parameters in order in its comment.

// --- accounts --------------------------------------------------------------------------------

/// A page of accounts in uid order: `$1` the last uid of the previous page (0 for the first),
/// `$2` how many.
pub(super) const ACCOUNTS_AFTER: &str = "SELECT uid, team_id, name, credits, banned, created_at \
     FROM accounts WHERE uid > $1 ORDER BY uid LIMIT $2";

/// uid.
pub(super) const ACCOUNT: &str =
    "SELECT uid, team_id, name, credits, banned, created_at FROM accounts WHERE uid = $1";

/// secret_hash.
pub(super) const AUTH_BY_KEY_HASH: &str =
    "SELECT a.uid, a.team_id, a.banned, a.clock_offset_ms, a.api_faults IS NOT NULL AS api_faults, \
     c.client_id, c.secret_hash \
     FROM accounts a JOIN credentials c ON c.uid = a.uid WHERE c.secret_hash = $1";

/// client_id.
pub(super) const AUTH_BY_CLIENT_ID: &str =
    "SELECT a.uid, a.team_id, a.banned, a.clock_offset_ms, a.api_faults IS NOT NULL AS api_faults, \
     c.client_id, c.secret_hash \
     FROM accounts a JOIN credentials c ON c.uid = a.uid WHERE c.client_id = $1";

/// uid.
pub(super) const AUTH_BY_UID: &str =
    "SELECT a.uid, a.team_id, a.banned, a.clock_offset_ms, a.api_faults IS NOT NULL AS api_faults, \
     c.client_id, c.secret_hash \
     FROM accounts a JOIN credentials c ON c.uid = a.uid WHERE a.uid = $1";

/// uid, client_id, secret_hash, sealed_secret.
pub(super) const INSERT_CREDENTIALS: &str =
    "INSERT INTO credentials (uid, client_id, secret_hash, sealed_secret) VALUES ($1, $2, $3, $4)";

/// uid, banned.
pub(super) const SET_BANNED: &str = "UPDATE accounts SET banned = $2 WHERE uid = $1";

/// uid, amount (negative to spend). The balance check is `policy::balance_after`.
pub(super) const ADD_CREDITS: &str = "UPDATE accounts SET credits = credits + $2 WHERE uid = $1";

/// uid, amount, reason, created_at.
pub(super) const LEDGER_ROW: &str =
    "INSERT INTO credit_ledger (uid, amount, reason, created_at) VALUES ($1, $2, $3, $4)";

/// uid, amount, video_id, created_at.
pub(super) const LEDGER_REFUND: &str =
    "INSERT INTO credit_ledger (uid, amount, reason, video_id, created_at) \
     VALUES ($1, $2, 'refund', $3, $4)";

/// uid.
/// An account's newest ledger rows: `$1` uid, `$2` how many.
pub(super) const LEDGER: &str =
    "SELECT id, amount, reason, video_id, created_at FROM credit_ledger \
     WHERE uid = $1 ORDER BY id DESC LIMIT $2";
pub(super) const LEDGER_SUM: &str =
    "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_ledger WHERE uid = $1";

// --- videos ----------------------------------------------------------------------------------

/// _id.
pub(super) const VIDEO: &str = "SELECT * FROM videos WHERE _id = $1";

/// An account's videos newest first, one page (`Videos::list_videos`): `$1` uid, `$2` the cursor
/// (the last id of the previous page, or `ABOVE_EVERY_ID` for the first page), so each is one
/// index range on `videos_by_account`; `$3` the page size.
pub(super) const LIST_VIDEOS: &str =
    "SELECT * FROM videos WHERE uid = $1 AND _id < $2 ORDER BY _id DESC LIMIT $3";

/// A filtered page looks at a window of at most `$3` rows below the cursor and keeps those of
/// status `$4` (or any, NULL) whose lower-cased prompt matches the `LIKE` pattern `$5` (or any,
/// NULL), at most `$6`: a filter that matches little costs one window, not the whole account.
pub(super) const LIST_FILTERED: &str = "SELECT * FROM (SELECT * FROM videos \
     WHERE uid = $1 AND _id < $2 ORDER BY _id DESC LIMIT $3) AS window_rows \
     WHERE ($4 IS NULL OR status = $4) AND ($5 IS NULL OR lower(prompt) LIKE $5 ESCAPE '\\') \
     ORDER BY _id DESC LIMIT $6";

/// The last row of that window when the window is full (`$3` = window size - 1).
pub(super) const WINDOW_END: &str =
    "SELECT _id FROM videos WHERE uid = $1 AND _id < $2 ORDER BY _id DESC LIMIT 1 OFFSET $3";

/// A cursor above every id: ids are 24 lowercase hex digits, all of which sort before `g`
/// (bytewise, and in the collations PostgreSQL uses: digits and `a`..`f` before `g`).
pub(super) const ABOVE_EVERY_ID: &str = "g";

/// _id.
pub(super) const BLOB_KEY_OF_COMPLETED: &str =
    "SELECT blob_key FROM videos WHERE _id = $1 AND status = 3";

/// _id, lease_owner (`HOLD_OWNER`), update_time.
pub(super) const HOLD: &str =
    "UPDATE videos SET status = 2, lease_owner = $2, lease_until = NULL, \
     update_time = $3 WHERE _id = $1";

/// _id, update_time. An operator's re-queue starts the video afresh.
pub(super) const REQUEUE_AFRESH: &str =
    "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, error_reason = NULL, \
     attempts = 0, run_after = 0, update_time = $2 WHERE _id = $1";

// --- render queue ----------------------------------------------------------------------------

/// One statement, so both counts come from one snapshot: counted apart, a video moving from 2
/// back to 1 in between would be in neither.
pub(super) const QUEUE_DEPTH: &str = "SELECT (SELECT COUNT(*) FROM videos WHERE status = 1), \
            (SELECT COUNT(*) FROM videos WHERE status = 2)";

/// _id, lease_owner, lease_until.
pub(super) const HEARTBEAT: &str =
    "UPDATE videos SET lease_until = $3 WHERE _id = $1 AND status = 2 AND lease_owner = $2";

/// _id, lease_owner, blob_key, video_duration, update_time.
pub(super) const COMPLETE: &str =
    "UPDATE videos SET status = 3, blob_key = $3, video_duration = $4, lease_owner = NULL, \
     lease_until = NULL, error_reason = NULL, update_time = $5 \
     WHERE _id = $1 AND status = 2 AND lease_owner = $2";

/// _id, run_after, update_time: back to the queue after a passing fault.
pub(super) const REQUEUE_AFTER: &str =
    "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, run_after = $2, \
     update_time = $3 WHERE _id = $1";

/// _id, update_time: back to the queue after its lease ran out.
pub(super) const REQUEUE_EXPIRED: &str = "UPDATE videos SET status = 1, lease_owner = NULL, \
     lease_until = NULL, update_time = $2 WHERE _id = $1";

/// _id, lease_owner, update_time. The interrupted attempt is not counted.
pub(super) const RELEASE: &str =
    "UPDATE videos SET status = 1, lease_owner = NULL, lease_until = NULL, \
     attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, update_time = $3 \
     WHERE _id = $1 AND status = 2 AND lease_owner = $2";

// --- webhook outbox --------------------------------------------------------------------------

/// _id, now. Records the callback for the video's current status, if it has a webhook URL; run
/// inside every transaction that moves a video to 2, 3 or 4. `now` is the account's clock (it
/// stamps the record); the delivery is due at the server time that is, so that an account whose
/// clock was advanced is not kept waiting.
pub(super) const ENQUEUE_WEBHOOK: &str =
    "INSERT INTO webhook_deliveries (video_id, uid, url, video_status, blob_key, state, attempts, \
     next_attempt_at, created_at) \
     SELECT _id, uid, webhook_url, status, blob_key, 'pending', 0, \
     $2 - (SELECT a.clock_offset_ms FROM accounts a WHERE a.uid = videos.uid), $2 FROM videos \
     WHERE _id = $1 AND webhook_url <> '' AND status IN (2, 3, 4)";

/// uid.
pub(super) const WEBHOOK_CREDENTIALS: &str =
    "SELECT client_id, sealed_secret FROM credentials WHERE uid = $1";

/// delivery id, attempt, at, http_status, error. A delete may have removed the delivery while it
/// was being sent; its attempt goes too.
pub(super) const RECORD_ATTEMPT: &str =
    "INSERT INTO webhook_attempts (delivery_id, attempt, at, http_status, error) \
     SELECT id, $2, $3, $4, $5 FROM webhook_deliveries WHERE id = $1";

/// id, state, attempts, next_attempt_at (NULL keeps it), last_error, finished_at: a
/// `policy::DeliveryUpdate`.
pub(super) const UPDATE_DELIVERY: &str =
    "UPDATE webhook_deliveries SET state = $2, attempts = $3, \
     next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL, last_error = $5, \
     finished_at = $6 WHERE id = $1";

/// video_id (NULL for all), limit.
pub(super) const DELIVERIES: &str = "SELECT * FROM webhook_deliveries \
     WHERE CAST($1 AS TEXT) IS NULL OR video_id = $1 ORDER BY id DESC LIMIT $2";

/// delivery id.
pub(super) const ATTEMPTS_OF: &str =
    "SELECT attempt, at, http_status, error FROM webhook_attempts \
     WHERE delivery_id = $1 ORDER BY id";

/// id, now. A redelivery is sent afresh: the webhook rules decide its fault again.
pub(super) const REDELIVER: &str =
    "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2, \
     lease_until = NULL, finished_at = NULL, fault = NULL WHERE id = $1";

/// id, fault (JSON), state, next_attempt_at (NULL keeps it), finished_at, release_lease: a
/// `policy::FaultUpdate`.
pub(super) const FAULT_DELIVERY: &str = "UPDATE webhook_deliveries SET fault = $2, state = $3, \
     next_attempt_at = COALESCE($4, next_attempt_at), finished_at = $5, \
     lease_until = CASE WHEN $6 THEN NULL ELSE lease_until END \
     WHERE id = $1 AND state = 'pending'";

/// id of a delivery that just settled, now: once a video's final callback (3 or 4) has settled,
/// its held (reordered) callbacks are due.
pub(super) const RELEASE_HELD: &str =
    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2 \
     WHERE state = 'held' AND video_id IN (SELECT f.video_id FROM webhook_deliveries f \
     WHERE f.id = $1 AND f.video_status IN (3, 4) AND f.state <> 'pending')";

// --- file-deletion outbox --------------------------------------------------------------------

/// blob_key, not_before.
pub(super) const STAGE_BLOB: &str =
    "INSERT INTO blob_deletions (blob_key, not_before) VALUES ($1, $2) RETURNING id";

/// blob_key: a completion takes its staged output back.
pub(super) const UNSTAGE_BLOB: &str = "DELETE FROM blob_deletions WHERE blob_key = $1";

/// now, limit.
pub(super) const DUE_BLOB_DELETIONS: &str = "SELECT id, blob_key FROM blob_deletions \
     WHERE not_before <= $1 ORDER BY not_before, id LIMIT $2";

/// id.
pub(super) const FINISH_BLOB_DELETION: &str = "DELETE FROM blob_deletions WHERE id = $1";

/// id, error, next attempt.
pub(super) const RETRY_BLOB_DELETION: &str = "UPDATE blob_deletions \
     SET attempts = attempts + 1, last_error = $2, not_before = $3 WHERE id = $1";

// --- emulation -------------------------------------------------------------------------------

/// uid.
pub(super) const EMULATION: &str = "SELECT lifecycle, clock_offset_ms, \
     (SELECT COUNT(*) FROM scripted_outcomes o WHERE o.uid = a.uid) AS outcomes_queued \
     FROM accounts a WHERE uid = $1";

/// uid, lifecycle (JSON or NULL).
pub(super) const SET_LIFECYCLE: &str = "UPDATE accounts SET lifecycle = $2 WHERE uid = $1";

/// uid (NULL for all), by_ms.
pub(super) const ADVANCE_CLOCKS: &str =
    "UPDATE accounts SET clock_offset_ms = clock_offset_ms + $2 \
     WHERE CAST($1 AS BIGINT) IS NULL OR uid = $1";

/// uid (NULL for all), by_ms: pending callbacks wait on the account's clock too.
pub(super) const HASTEN_WEBHOOKS: &str = "UPDATE webhook_deliveries \
     SET next_attempt_at = next_attempt_at - $2 \
     WHERE state = 'pending' AND (CAST($1 AS BIGINT) IS NULL OR uid = $1)";

/// uid.
pub(super) const OUTCOMES: &str =
    "SELECT id, outcome FROM scripted_outcomes WHERE uid = $1 ORDER BY id";

/// uid, outcome (JSON).
pub(super) const PUSH_OUTCOME: &str =
    "INSERT INTO scripted_outcomes (uid, outcome) VALUES ($1, $2)";

/// uid, limit.
pub(super) const NEXT_OUTCOMES: &str =
    "SELECT id, outcome FROM scripted_outcomes WHERE uid = $1 ORDER BY id LIMIT $2";

/// id.
pub(super) const TAKE_OUTCOME: &str = "DELETE FROM scripted_outcomes WHERE id = $1";

/// uid.
pub(super) const CLEAR_OUTCOMES: &str = "DELETE FROM scripted_outcomes WHERE uid = $1";

/// video_id, uid, timing, script (JSON), due_at. Polls are counted afresh.
pub(super) const PUT_SCRIPT: &str =
    "INSERT INTO video_scripts (video_id, uid, timing, script, polls, due_at) \
     VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (video_id) DO UPDATE SET \
     timing = excluded.timing, script = excluded.script, polls = 0, due_at = excluded.due_at";

/// video_id.
pub(super) const SCRIPT_OF: &str = "SELECT script, polls FROM video_scripts WHERE video_id = $1";

/// video_id.
pub(super) const DROP_SCRIPT: &str = "DELETE FROM video_scripts WHERE video_id = $1";

/// video_id, due_at.
pub(super) const SCRIPT_DUE: &str = "UPDATE video_scripts SET due_at = $2 WHERE video_id = $1";

/// _id, run_after (`SCRIPTED_RUN_AFTER`), update_time: a queued video leaves the render queue.
pub(super) const SCRIPT_QUEUED: &str = "UPDATE videos SET run_after = $2, lease_owner = NULL, \
     lease_until = NULL, update_time = $3 WHERE _id = $1 AND status = 1";

/// _id, lease_owner (`EMULATOR_OWNER`), update_time: a processing video changes hands; a worker
/// that had it loses its lease.
pub(super) const SCRIPT_PROCESSING: &str = "UPDATE videos SET lease_owner = $2, \
     lease_until = NULL, update_time = $3 WHERE _id = $1 AND status = 2";

/// _id, lease_owner (`EMULATOR_OWNER`), update_time, run_after (`SCRIPTED_RUN_AFTER`).
pub(super) const SCRIPT_START: &str = "UPDATE videos SET status = 2, lease_owner = $2, \
     lease_until = NULL, update_time = $3 WHERE _id = $1 AND status = 1 AND run_after = $4";

/// uid: does the account have videos that move by polls?
/// uid, ids (PostgreSQL): the account's videos among the ids, each row also saying whether the
/// account has videos scripted to move on polls (an uncorrelated subquery: evaluated once).
pub(super) const VIDEOS_FOR_POLL: &str = "SELECT *, EXISTS (SELECT 1 FROM video_scripts \
     WHERE uid = $1 AND timing = 'polls') AS scripts_move_on_polls \
     FROM videos WHERE uid = $1 AND _id = ANY($2)";

pub(super) const HAS_POLLED_SCRIPTS: &str =
    "SELECT COUNT(*) FROM video_scripts WHERE uid = $1 AND timing = 'polls'";

/// video_id, uid.
pub(super) const COUNT_POLL: &str = "UPDATE video_scripts SET polls = polls + 1 \
     WHERE video_id = $1 AND uid = $2 AND timing = 'polls'";

/// server_now, uid (NULL for all), limit.
pub(super) const DUE_SCRIPTS: &str = "SELECT s.video_id FROM video_scripts s \
     JOIN accounts a ON a.uid = s.uid \
     WHERE s.due_at IS NOT NULL AND s.due_at <= $1 + a.clock_offset_ms \
     AND (CAST($2 AS BIGINT) IS NULL OR s.uid = $2) ORDER BY s.due_at LIMIT $3";

pub(super) const ADVANCED_CLOCKS: &str =
    "SELECT uid, clock_offset_ms FROM accounts WHERE clock_offset_ms > 0 ORDER BY uid";

/// uid: the first grant, which a reset restores.
pub(super) const INITIAL_GRANT: &str = "SELECT COALESCE((SELECT amount FROM credit_ledger \
     WHERE uid = $1 AND reason = 'grant' ORDER BY id LIMIT 1), 0)";

/// uid.
pub(super) const REMOVE_ACCOUNT_VIDEOS: &str =
    "DELETE FROM videos WHERE uid = $1 RETURNING blob_key";

/// uid.
pub(super) const REMOVE_ACCOUNT_WEBHOOKS: &str = "DELETE FROM webhook_deliveries WHERE uid = $1";

/// uid.
pub(super) const FORGET_LEDGER_VIDEOS: &str =
    "UPDATE credit_ledger SET video_id = NULL WHERE uid = $1 AND video_id IS NOT NULL";

/// uid, credits.
pub(super) const RESET_ACCOUNT: &str =
    "UPDATE accounts SET lifecycle = NULL, clock_offset_ms = 0, \
     credits = $2 WHERE uid = $1";

pub(super) const ACCOUNT_UIDS: &str = "SELECT uid FROM accounts ORDER BY uid";

/// uid: whether it exists.
pub(super) const ACCOUNT_EXISTS: &str = "SELECT uid FROM accounts WHERE uid = $1";

/// uid, amount, video_id, created_at.
pub(super) const LEDGER_CHARGE: &str =
    "INSERT INTO credit_ledger (uid, amount, reason, video_id, created_at) \
     VALUES ($1, $2, 'charge', $3, $4)";

// --- faults ----------------------------------------------------------------------------------

/// uid. `Some(NULL)` when the account has no rules of that kind.
pub(super) const API_FAULTS: &str = "SELECT api_faults FROM accounts WHERE uid = $1";

/// uid.
pub(super) const WEBHOOK_FAULTS: &str = "SELECT webhook_faults FROM accounts WHERE uid = $1";

/// uid, set (JSON or NULL).
pub(super) const SET_API_FAULTS: &str = "UPDATE accounts SET api_faults = $2 WHERE uid = $1";

/// uid, set (JSON or NULL).
pub(super) const SET_WEBHOOK_FAULTS: &str =
    "UPDATE accounts SET webhook_faults = $2 WHERE uid = $1";

// --- request journal -------------------------------------------------------------------------

/// The most entries one SQLite append statement takes: a batch is a few statements, not one per
/// entry (each statement is a round trip to sqlx's SQLite worker thread).
pub(super) const JOURNAL_CHUNK_SQLITE: usize = 32;

/// Appends `rows` entries (1 to `JOURNAL_CHUNK_SQLITE`) on SQLite, binding for each in turn: uid,
/// at_ms, method, path, query, request_body, status, code, response_body, latency_ms, fault. The
/// parameters are anonymous `?`: sqlx asks SQLite for every parameter's name, and SQLite finds a
/// numbered one by walking the statement's list of names, so binding a statement of numbered
/// parameters costs the square of their count (measured: 86 of 24,000 samples of a polled
/// server for 8 entries a statement); an anonymous one has no name.
pub(super) fn journal_append_sqlite(rows: usize) -> &'static str {
    static STATEMENTS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let entry = format!("({})", ["?"; 11].join(", "));
        (1..=JOURNAL_CHUNK_SQLITE)
            .map(|rows| {
                format!(
                    "INSERT INTO request_journal (uid, at_ms, method, path, query, \
                     request_body, status, code, response_body, latency_ms, fault) VALUES {}",
                    vec![entry.as_str(); rows].join(", ")
                )
            })
            .collect()
    });
    &STATEMENTS[rows.clamp(1, JOURNAL_CHUNK_SQLITE) - 1]
}

/// Appends a batch of entries on PostgreSQL, in their order, as one statement with one array
/// per column (uid, at_ms, method, path, query, request_body, status, code, response_body,
/// latency_ms, fault): one prepared statement and plan for any batch size, where a row of
/// parameters per entry made a statement (and plan) per size with hundreds of parameters.
pub(super) const JOURNAL_APPEND_POSTGRES: &str = "INSERT INTO request_journal (uid, at_ms, \
     method, path, query, request_body, status, code, response_body, latency_ms, fault) \
     SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], \
     $6::BYTEA[], $7::BIGINT[], $8::BIGINT[], $9::BYTEA[], $10::BIGINT[], $11::TEXT[])";

/// uid, kept: drops the account's entries older than its `kept` newest. The subquery walks the
/// (uid, id) index from the newest; with no more than `kept` entries it is NULL and nothing goes.
pub(super) const JOURNAL_TRIM: &str = "DELETE FROM request_journal WHERE uid = $1 AND id <= \
     (SELECT id FROM request_journal WHERE uid = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)";

/// kept: `JOURNAL_TRIM` for the entries of no account (one group).
pub(super) const JOURNAL_TRIM_ANONYMOUS: &str = "DELETE FROM request_journal \
     WHERE uid IS NULL AND id <= \
     (SELECT id FROM request_journal WHERE uid IS NULL ORDER BY id DESC LIMIT 1 OFFSET $1)";

/// uid, path, code, since_id (each NULL for any), limit.
pub(super) const JOURNAL: &str = "SELECT * FROM request_journal \
     WHERE (CAST($1 AS BIGINT) IS NULL OR uid = $1) \
     AND (CAST($2 AS TEXT) IS NULL OR path = $2) \
     AND (CAST($3 AS BIGINT) IS NULL OR code = $3) \
     AND (CAST($4 AS BIGINT) IS NULL OR id > $4) \
     ORDER BY id DESC LIMIT $5";

/// uid (NULL for every entry).
pub(super) const JOURNAL_CLEAR: &str =
    "DELETE FROM request_journal WHERE CAST($1 AS BIGINT) IS NULL OR uid = $1";
