-- Fault rules (admin API): each kind is the domain's FaultSet as JSON, NULL when the account has
-- none. The request journal: every request to an Akool route, bounded per account by the writer.
ALTER TABLE accounts ADD COLUMN api_faults TEXT;
ALTER TABLE accounts ADD COLUMN webhook_faults TEXT;

-- No foreign key on uid: requests with unknown credentials are journaled too (uid NULL), and an
-- account's entries are removed by uid.
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
