-- DESIGN §4 step 2 as one call: `SELECT what, item, file_id FROM i2v_delete_videos(...)` is one
-- round trip and, run on its own, one transaction (src/store/postgres/delete.rs).
--
-- A function rather than one statement with data-modifying CTEs: a statement reads one snapshot,
-- taken before its row locks are granted, so it cannot see a webhook delivery or a ledger row
-- that a worker committed with the video while the delete waited for the video's lock, and it
-- would leave that trace behind. In a VOLATILE function every statement takes a new snapshot, so
-- the statements after the lock see everything committed before it (and nothing can touch a
-- locked video after).
--
-- Rows: ('deleted', _id, NULL), ('processing', _id, NULL) and ('file', blob_key, outbox id).
CREATE OR REPLACE FUNCTION i2v_delete_videos(
    p_uid BIGINT,
    p_ids TEXT[],
    p_now BIGINT,
    p_processing BIGINT
) RETURNS TABLE (what TEXT, item TEXT, file_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    doomed TEXT[];
    refused TEXT[];
BEGIN
    -- The caller's rows among the ids, locked in _id order so that overlapping deletes cannot
    -- deadlock; a row lock reads each row's newest committed version.
    SELECT COALESCE(array_agg(l._id) FILTER (WHERE l.status <> p_processing), '{}'),
           COALESCE(array_agg(l._id) FILTER (WHERE l.status = p_processing), '{}')
      INTO doomed, refused
      FROM (SELECT v._id, v.status FROM videos v
             WHERE v.uid = p_uid AND v._id = ANY(p_ids)
             ORDER BY v._id FOR UPDATE) l;

    IF cardinality(doomed) > 0 THEN
        RETURN QUERY
            WITH gone AS (
                DELETE FROM videos v WHERE v._id = ANY(doomed) RETURNING v.blob_key
            ), staged AS (
                INSERT INTO blob_deletions (blob_key, not_before)
                SELECT g.blob_key, p_now FROM gone g WHERE g.blob_key IS NOT NULL
                RETURNING blob_deletions.id, blob_deletions.blob_key
            )
            SELECT 'file'::TEXT, s.blob_key, s.id FROM staged s;
        -- Deletion removes every trace: pending and past callbacks go with the video.
        DELETE FROM webhook_deliveries w WHERE w.uid = p_uid AND w.video_id = ANY(doomed);
        -- The ledger keeps the amounts (balances must stay auditable) but not which video.
        UPDATE credit_ledger c SET video_id = NULL WHERE c.uid = p_uid AND c.video_id = ANY(doomed);
    END IF;

    RETURN QUERY SELECT 'deleted'::TEXT, d, NULL::BIGINT FROM unnest(doomed) d;
    RETURN QUERY SELECT 'processing'::TEXT, r, NULL::BIGINT FROM unnest(refused) r;
END
$$;
