-- Fair claims count each account's processing videos (status 2) on every claim.
CREATE INDEX videos_in_flight ON videos (uid) WHERE status = 2;
