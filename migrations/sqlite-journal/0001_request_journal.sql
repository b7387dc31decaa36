-- The request journal, in a SQLite file of its own beside the main database (see
-- src/store/sqlite/journal.rs). No foreign key on uid: requests with unknown credentials are
-- journaled too (uid NULL), and an account's entries are removed by uid.
CREATE TABLE request_journal (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    uid            INTEGER,
    at_ms          INTEGER NOT NULL,
    method         TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    query          TEXT    NOT NULL,
    request_body   TEXT    NOT NULL,
    status         INTEGER,
    code           INTEGER,
    response_body  TEXT    NOT NULL,
    latency_ms     INTEGER NOT NULL,
    fault          TEXT
);
CREATE INDEX request_journal_uid ON request_journal (uid, id);
