-- The request journal's bodies arrive from i2v already LZ4-compressed when they are long (a
-- ten-record resultsByIds answer, ~5 KB, becomes ~1 KB): sent as text, each one cost the
-- server's bind message, TOAST's compression and an out-of-line TOAST row at the rate polls come
-- in. A compressed body is a BYTEA value starting with the byte 0xFF (never the first byte of
-- UTF-8 text) followed by the LZ4 block with its size in front; a short body is its UTF-8 bytes.
ALTER TABLE request_journal
    ALTER COLUMN request_body TYPE BYTEA USING convert_to(request_body, 'UTF8'),
    ALTER COLUMN response_body TYPE BYTEA USING convert_to(response_body, 'UTF8');
