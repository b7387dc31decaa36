-- delbyids forgets which video each ledger row was for (`UPDATE ... WHERE uid = ? AND video_id IN
-- (...)`). With only the uid index that visits every ledger row of the account, a number that
-- grows with every video it ever made; (uid, video_id) finds the rows directly and still serves
-- the lookups by uid alone, so it replaces the old index.
CREATE INDEX credit_ledger_uid_video ON credit_ledger (uid, video_id);
DROP INDEX credit_ledger_uid;
