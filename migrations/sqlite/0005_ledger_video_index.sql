-- delbyids forgets which video each ledger row was for (UPDATE ... WHERE video_id IN ...); without
-- this index that scans every ledger row of the account, which grows with its video count.
CREATE INDEX credit_ledger_video ON credit_ledger (video_id);
