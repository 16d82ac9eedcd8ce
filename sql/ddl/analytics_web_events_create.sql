-- One row per event_id: deduplicated, quality-scored, bot-flagged (sql/enrich MERGE).
-- Columns = landing_contract.py ANALYTICS_COLUMNS; partitioned by event_date and
-- space_type as the architecture guide's primary table is.
create table if not exists analytics.web_events (
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
    -- enrichment (sql/enrich, sql/bots)
    data_quality_score double,
    quality_issues array<string>,
    is_bot boolean,
    bot_reasons array<string>,
    duplicate_count int,
    processed_timestamp timestamp,
    -- lossless landing, appended as `webevents migrate` adds them
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
partitioned by (event_date, space_type)
tblproperties ('table_type' = 'iceberg')
