-- The request journal moved to a SQLite file of its own (its writes no longer take this
-- database's write lock or fsync its WAL). Opening the store copies any entries kept here into
-- that file before this migration runs.
DROP TABLE request_journal;
