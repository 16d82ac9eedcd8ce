-- The JSON-lines archive as raw text: one string column per line, so every
-- line reaches the SQL normalisation, even one that is not JSON (a JSON SerDe
-- would fail or skip it). Ctrl-A never occurs in valid JSON (control
-- characters must be escaped inside strings), so a line stays one field.
-- The table lives in the Glue Data Catalog (S3 Tables holds no external
-- tables); partition projection on dt spares an MSCK REPAIR per new day:
-- https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
-- Gzip files are read as text by extension:
-- https://docs.aws.amazon.com/athena/latest/ug/compression-formats.html
create external table if not exists archive.web_events_archive (
    line string
)
partitioned by (dt string)
row format delimited
fields terminated by '\001'
lines terminated by '\n'
stored as textfile
location '{{ archive_location }}'
tblproperties (
    'projection.enabled' = 'true',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy-MM-dd',
    'projection.dt.range' = '2015-01-01,NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'storage.location.template' = '{{ archive_location }}dt=${dt}/'
)
