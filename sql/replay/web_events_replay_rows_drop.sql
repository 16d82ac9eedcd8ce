-- The replay's scratch table goes once its rows are in raw.web_events (the
-- rows themselves are deleted from the scratch prefix by `webevents replay`).
drop table if exists archive.{{ scratch_table }}
