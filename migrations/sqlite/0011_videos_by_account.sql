-- An account's videos newest first (GET /api/i2v/v1/videos, the web console): one index range
-- per page, however many videos the account has.
CREATE INDEX videos_by_account ON videos (uid, _id);
