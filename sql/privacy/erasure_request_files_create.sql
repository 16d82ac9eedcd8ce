-- The erasure request files: one JSON object per line, written by `webevents
-- forget` (or by hand) under the stack's request location. Read as text, as
-- the archive is, so the person's id reaches raw.erasure_requests through an
-- INSERT ... SELECT and never through a statement's text (docs/decisions.md
-- D-PRIV-6). The table lives in the archive's Glue database (S3 Tables holds no
-- external tables).
create external table if not exists archive.erasure_request_files (
    line string
)
row format delimited
fields terminated by '\001'
lines terminated by '\n'
stored as textfile
location '{{ erasure_requests_location }}'
