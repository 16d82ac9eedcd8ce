"""The landing record: the one column list the Lambda, sql/ddl, the template and dbt agree on.

Types are Iceberg type names. Firehose's Iceberg destination maps only top-level JSON
keys to columns, by exact name and type, so the Lambda's output keys are exactly
LANDING_COLUMNS. Extend these lists; never rename a column (tables in S3 Tables keep it).
Tests in tests/infra and tests/sql fail when template.yaml or sql/ddl drift from here.
"""

COORDINATES_TYPE = "struct<pitch: double, yaw: double, hfov: double>"

# (name, Iceberg type, what it holds): the columns of the first deployed schema.
_FIRST_LANDING_COLUMNS: tuple[tuple[str, str, str], ...] = (
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
    ("ip_address", "string", "client IP, pseudonymised per IpHandling (§6b)"),
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

# Lossless landing (D-LANDING-1, docs/landing-normalisation.md §6-§7). Appended, never
# inserted: `ALTER TABLE ... ADD COLUMNS` on a deployed table appends at the end, and
# `webevents migrate` adds exactly the columns a live table lacks, in this order.
LOSSLESS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("context", "string", "JSON of the producer's context minus the keys a column took"),
    ("traits", "string", "JSON of the identify traits (top level, else context.traits)"),
    ("extra", "string", "JSON of every other field at the top level, in metadata, eventData"),
    ("utm_source", "string", "context.campaign.source, else utm_source of the page URL"),
    ("utm_medium", "string", "context.campaign.medium, else utm_medium of the page URL"),
    ("utm_campaign", "string", "context.campaign.name, else utm_campaign of the page URL"),
    ("utm_term", "string", "context.campaign.term, else utm_term of the page URL"),
    ("utm_content", "string", "context.campaign.content, else utm_content of the page URL"),
    ("locale", "string", "context.locale"),
    ("sent_at", "timestamp", "when the producer sent the batch, by its own clock"),
    ("original_timestamp", "timestamp", "the producer's originalTimestamp, by its own clock"),
    ("redacted_field_count", "int", "credentials, PII query parameters, non-IP ips removed"),
)

LANDING_COLUMNS = _FIRST_LANDING_COLUMNS + LOSSLESS_COLUMNS

# analytics.web_events = every landing column plus these (order: ANALYTICS_COLUMNS).
ANALYTICS_EXTRA_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("data_quality_score", "double", "0..1, the rubric in docs/data-quality.md"),
    ("quality_issues", "array<string>", "checks that failed for this event"),
    ("is_bot", "boolean", "any bot rule fired"),
    ("bot_reasons", "array<string>", "the bot rules that fired"),
    ("duplicate_count", "int", "raw copies of this event_id seen (1 = no duplicate)"),
    ("processed_timestamp", "timestamp", "when the enrichment last wrote this row, UTC"),
)

LANDING_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in LANDING_COLUMNS)
# A deployed analytics.web_events got the lossless columns appended after its own.
ANALYTICS_COLUMNS = _FIRST_LANDING_COLUMNS + ANALYTICS_EXTRA_COLUMNS + LOSSLESS_COLUMNS

# Never stored anywhere (§6a): credentials a producer may put in an event. Matched exactly,
# as keys of the record, metadata, eventData, context, traits and properties.
DENIED_KEYS: frozenset[str] = frozenset(
    ("writeKey", "write_key", "apiKey", "api_key", "authorization", "password", "secret")
)

# §6b: how ip_address lands (template.yaml IpHandling; the first is the default).
IP_HANDLINGS: tuple[str, ...] = ("truncate", "drop", "hash")
# §6b: query parameters removed from page_url, page_path and page_referrer before landing,
# matched case-insensitively by name. utm_* stay. The backfill SQL reads this list.
PII_QUERY_PARAMETERS: tuple[str, ...] = (
    "email",
    "e-mail",
    "token",
    "access_token",
    "auth",
    "password",
    "name",
    "first_name",
    "last_name",
    "phone",
    "tel",
)
# §6b: members inside the JSON columns whose string value is an address (or a comma-separated
# list of them, as x-forwarded-for holds) or an array of such strings, whatever their depth;
# names compared case-insensitively (ASCII). The backfill SQL reads this list.
IP_MEMBER_NAMES: tuple[str, ...] = (
    "ip",
    "ip_address",
    "ipaddress",
    "client_ip",
    "clientip",
    "remote_ip",
    "x-forwarded-for",
    "x-real-ip",
)

RAW_PARTITIONING = ("day(event_timestamp)",)
ANALYTICS_PARTITIONING = ("event_date", "space_type")
