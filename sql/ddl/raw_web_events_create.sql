-- Append-only landing table: Firehose (transform Lambda) and the backfill insert here.
-- Columns = transform_lambda/landing_contract.py LANDING_COLUMNS (tests/sql/ddl checks it).
-- S3 Tables chooses the storage location itself, so there is no LOCATION clause.
create table if not exists raw.web_events (
    -- identity and time
    event_id string,
    event_timestamp timestamp,
    event_date date,
    -- what happened
    event_type string,
    event_name string,
    -- who
    anonymous_id string,
    user_id string,
    session_id string,
    app_id string,
    -- where on the web, from which client (ip_address is personal data)
    page_url string,
    page_path string,
    page_referrer string,
    user_agent string,
    ip_address string,
    -- where in the 3D space
    space_id string,
    space_name string,
    space_type string,
    room_id string,
    room_name string,
    community string,
    building string,
    floorplan string,
    coordinates struct<pitch: double, yaw: double, hfov: double>,
    -- everything else, and provenance
    properties string,
    source_format string,
    received_at timestamp,
    load_source string,
    -- lossless landing: what no column above holds, and promoted fields
    context string,
    traits string,
    extra string,
    utm_source string,
    utm_medium string,
    utm_campaign string,
    utm_term string,
    utm_content string,
    locale string,
    sent_at timestamp,
    original_timestamp timestamp,
    redacted_field_count int
)
partitioned by (day(event_timestamp))
tblproperties ('table_type' = 'iceberg')
