-- Backfill staging: one row per archive line of a chunk, parsed once (sql/backfill).
-- outcome ok|rejected|dropped; line is kept only for rejected lines. The landing
-- columns follow (contract order, without received_at and load_source, which the
-- insert into raw.web_events sets). A chunk re-run replaces its archive_date range.
create table if not exists raw.web_events_backfill_stage (
    -- the archive line
    archive_date date,
    source_file string,
    outcome string,
    reason string,
    line string,
    -- the landing row it becomes
    event_id string,
    event_timestamp timestamp,
    event_date date,
    event_type string,
    event_name string,
    anonymous_id string,
    user_id string,
    session_id string,
    app_id string,
    page_url string,
    page_path string,
    page_referrer string,
    user_agent string,
    ip_address string,
    space_id string,
    space_name string,
    space_type string,
    room_id string,
    room_name string,
    community string,
    building string,
    floorplan string,
    coordinates struct<pitch: double, yaw: double, hfov: double>,
    properties string,
    source_format string,
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
partitioned by (archive_date)
tblproperties ('table_type' = 'iceberg')
