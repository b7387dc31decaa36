-- Delete clears the video id from its ledger rows; without this index that scans every ledger row
-- of the account (millions for a busy one).
CREATE INDEX credit_ledger_video ON credit_ledger (video_id) WHERE video_id IS NOT NULL;
