"""The landing record: the one column list the Lambda, sql/ddl, the template and dbt agree on.

Types are Iceberg type names. Firehose's Iceberg destination maps only top-level JSON
keys to columns, by exact name and type, so the Lambda's output keys are exactly
LANDING_COLUMNS. Extend these lists; never rename a column (tables in S3 Tables keep it).
Tests in tests/infra and tests/sql fail when template.yaml or sql/ddl drift from here.
"""

COORDINATES_TYPE = "struct<pitch: double, yaw: double, hfov: double>"

# (name, Iceberg type, what it holds)
LANDING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("event_id", "string", "source id, or a deterministic hash of the canonical event"),
    ("event_timestamp", "timestamp", "when the event happened, UTC, microseconds"),
    ("event_date", "date", "UTC date of event_timestamp"),
    ("event_type", "string", "page, track, identify, screen, ..."),
    ("event_name", "string", "track event name, or a stable name for page/identify"),
    ("anonymous_id", "string", "device / browser id"),
    ("user_id", "string", "authenticated user id"),
    ("session_id", "string", "the tracker's session id"),
    ("app_id", "string", "emitting application"),
    ("page_url", "string", "full page URL"),
    ("page_path", "string", "path part of the page URL"),
    ("page_referrer", "string", "referrer URL"),
    ("user_agent", "string", "browser user agent"),
    ("ip_address", "string", "client IP as the producer sent it (personal data)"),
    ("space_id", "string", "3D space"),
    ("space_name", "string", "3D space display name"),
    ("space_type", "string", "kind of space (partition column of analytics.web_events)"),
    ("room_id", "string", "room within the space"),
    ("room_name", "string", "room display name"),
    ("community", "string", "location hierarchy: community"),
    ("building", "string", "location hierarchy: building"),
    ("floorplan", "string", "location hierarchy: floorplan"),
    ("coordinates", COORDINATES_TYPE, "3D view position; finite numbers only"),
    ("properties", "string", "JSON of every source property not mapped to a column"),
    ("source_format", "string", "legacy or nested"),
    ("received_at", "timestamp", "Firehose arrival time (backfill: load time)"),
    ("load_source", "string", "firehose or backfill"),
)

# analytics.web_events = every landing column, then these.
ANALYTICS_EXTRA_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("data_quality_score", "double", "0..1, the rubric in docs/data-quality.md"),
    ("quality_issues", "array<string>", "checks that failed for this event"),
    ("is_bot", "boolean", "any bot rule fired"),
    ("bot_reasons", "array<string>", "the bot rules that fired"),
    ("duplicate_count", "int", "raw copies of this event_id seen (1 = no duplicate)"),
    ("processed_timestamp", "timestamp", "when the enrichment last wrote this row, UTC"),
)

LANDING_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in LANDING_COLUMNS)
ANALYTICS_COLUMNS = LANDING_COLUMNS + ANALYTICS_EXTRA_COLUMNS

RAW_PARTITIONING = ("day(event_timestamp)",)
ANALYTICS_PARTITIONING = ("event_date", "space_type")
