-- Landing rows from Firehose's iceberg-failed error output, decoded by
-- `webevents replay` into a scratch prefix, one JSON object per line. Read as
-- raw text (the archive table's layout), so the insert decides every type.
-- A scratch table in the archive's Glue database (S3 Tables holds no external
-- tables), dropped again by web_events_replay_rows_drop.sql.
create external table if not exists archive.{{ scratch_table }} (
    line string
)
row format delimited
fields terminated by '\001'
lines terminated by '\n'
stored as textfile
location '{{ scratch_location }}'
