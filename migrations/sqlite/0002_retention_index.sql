-- Retention sweep: finished videos that still have an output file, oldest first.
CREATE INDEX videos_outputs ON videos (update_time) WHERE status = 3 AND blob_key IS NOT NULL;
