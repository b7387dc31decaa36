-- Webhook faults (admin API): the effect a delivery was given on purpose, decided once, before
-- its first attempt (JSON, as the rule names it; NULL when none). Two more states: 'held' (a
-- reordered status-2 callback waiting for the video's final one; it blocks nothing) and
-- 'dropped' (never sent).
ALTER TABLE webhook_deliveries ADD COLUMN fault TEXT;
