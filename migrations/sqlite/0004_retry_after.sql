-- A video whose render hit a passing fault (image host down, timeout) waits until run_after
-- before it can be claimed again.
ALTER TABLE videos ADD COLUMN run_after INTEGER NOT NULL DEFAULT 0;
