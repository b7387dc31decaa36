-- The request journal's bodies (a ten-record resultsByIds answer is ~5 KB) are compressed by
-- TOAST as they are written; LZ4 does that several times faster than the default pglz, and the
-- journal is written at the rate requests come in. Only where the server was built with LZ4 (the
-- setting lists it: PostgreSQL 14 and later, as most distributions build it); elsewhere the
-- default stays and nothing else changes.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE request_journal
            ALTER COLUMN request_body SET COMPRESSION lz4,
            ALTER COLUMN response_body SET COMPRESSION lz4;
    END IF;
END
$$;
