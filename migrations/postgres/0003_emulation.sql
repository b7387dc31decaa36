-- Emulator controls (admin API): an account's clock offset and lifecycle, its queue of scripted
-- outcomes, and the script each emulated video follows. A script goes with its video.
ALTER TABLE accounts ADD COLUMN clock_offset_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN lifecycle TEXT;

CREATE TABLE scripted_outcomes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid      BIGINT NOT NULL REFERENCES accounts(uid),
    outcome  TEXT   NOT NULL
);
CREATE INDEX scripted_outcomes_uid ON scripted_outcomes (uid, id);

CREATE TABLE video_scripts (
    video_id  TEXT   PRIMARY KEY REFERENCES videos(_id) ON DELETE CASCADE,
    uid       BIGINT NOT NULL,
    -- at_once | timed | polls | manual (the poll counter finds its videos by it)
    timing    TEXT   NOT NULL,
    script    TEXT   NOT NULL,
    polls     BIGINT NOT NULL DEFAULT 0,
    -- Account-clock time of the next step the background loop takes; NULL when none is timed.
    due_at    BIGINT
);
CREATE INDEX video_scripts_due ON video_scripts (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX video_scripts_uid ON video_scripts (uid, timing);
