-- i2v schema, SQLite flavour. Times are Unix epoch milliseconds.

CREATE TABLE accounts (
    uid         INTEGER PRIMARY KEY,
    team_id     TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    credits     INTEGER NOT NULL CHECK (credits >= 0),
    banned      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- One live credential per account: client_id and the API key (= clientSecret).
CREATE TABLE credentials (
    uid            INTEGER PRIMARY KEY REFERENCES accounts(uid),
    client_id      TEXT NOT NULL UNIQUE,
    secret_hash    TEXT NOT NULL UNIQUE,
    sealed_secret  TEXT NOT NULL,
    rotated_at     INTEGER
);

CREATE TABLE videos (
    _id               TEXT    PRIMARY KEY,
    uid               INTEGER NOT NULL REFERENCES accounts(uid),
    team_id           TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    status            INTEGER NOT NULL CHECK (status BETWEEN 1 AND 4),
    model_name        TEXT    NOT NULL,
    resolution        TEXT    NOT NULL,
    video_length      INTEGER NOT NULL,
    image_url         TEXT    NOT NULL,
    last_image_url    TEXT    NOT NULL,
    prompt            TEXT    NOT NULL,
    negative_prompt   TEXT    NOT NULL,
    extend_prompt     INTEGER NOT NULL,
    audio_type        INTEGER NOT NULL,
    audio_url         TEXT    NOT NULL,
    generate_audio    INTEGER NOT NULL,
    is_premium_model  INTEGER NOT NULL,
    effect_code       TEXT    NOT NULL,
    effect_name       TEXT    NOT NULL,
    webhook_url       TEXT    NOT NULL,
    file_name         TEXT    NOT NULL,
    batch_id          TEXT,
    batch_count       INTEGER,
    pre_video_id      TEXT,
    deduction_credit  INTEGER NOT NULL,
    blob_key          TEXT,
    video_duration    REAL,
    error_reason      TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_until       INTEGER,
    create_time       INTEGER NOT NULL,
    update_time       INTEGER NOT NULL
);

-- Claim order: oldest queued first.
CREATE INDEX videos_queue ON videos (create_time, _id) WHERE status = 1;
-- Reaper: expired leases of processing videos.
CREATE INDEX videos_leases ON videos (lease_until) WHERE status = 2;

-- Outbox of files to remove: written in the same transaction as the row delete (or staged before
-- a worker uploads), drained by the sweeper.
CREATE TABLE blob_deletions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_key     TEXT    NOT NULL,
    not_before   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX blob_deletions_due ON blob_deletions (not_before);
CREATE INDEX blob_deletions_key ON blob_deletions (blob_key);

CREATE TABLE credit_ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         INTEGER NOT NULL REFERENCES accounts(uid),
    amount      INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    video_id    TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX credit_ledger_uid ON credit_ledger (uid);
