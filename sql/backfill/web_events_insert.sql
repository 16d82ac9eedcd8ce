-- Land the chunk's good lines in raw.web_events, for one event-date range.
-- Re-running inserts nothing: a line is skipped when a backfill row with the
-- same event_id and event_timestamp is already there (from an earlier run of
-- this chunk, or an earlier chunk holding the same event). The landing table
-- stays append-only, as Firehose commits to it at the same time; a DELETE
-- would rewrite files under Firehose's feet. Exact copies inside one chunk
-- all land, so the enrichment can count them.
insert into raw.web_events (
    event_id,
    event_timestamp,
    event_date,
    event_type,
    event_name,
    anonymous_id,
    user_id,
    session_id,
    app_id,
    page_url,
    page_path,
    page_referrer,
    user_agent,
    ip_address,
    space_id,
    space_name,
    space_type,
    room_id,
    room_name,
    community,
    building,
    floorplan,
    coordinates,
    properties,
    source_format,
    received_at,
    load_source,
    context,
    traits,
    extra,
    utm_source,
    utm_medium,
    utm_campaign,
    utm_term,
    utm_content,
    locale,
    sent_at,
    original_timestamp,
    redacted_field_count
)
select
    staged.event_id,
    staged.event_timestamp,
    staged.event_date,
    staged.event_type,
    staged.event_name,
    staged.anonymous_id,
    staged.user_id,
    staged.session_id,
    staged.app_id,
    staged.page_url,
    staged.page_path,
    staged.page_referrer,
    staged.user_agent,
    staged.ip_address,
    staged.space_id,
    staged.space_name,
    staged.space_type,
    staged.room_id,
    staged.room_name,
    staged.community,
    staged.building,
    staged.floorplan,
    staged.coordinates,
    staged.properties,
    staged.source_format,
    timestamp '{{ loaded_at }}' as received_at,
    'backfill' as load_source,
    staged.context,
    staged.traits,
    staged.extra,
    staged.utm_source,
    staged.utm_medium,
    staged.utm_campaign,
    staged.utm_term,
    staged.utm_content,
    staged.locale,
    staged.sent_at,
    staged.original_timestamp,
    staged.redacted_field_count
from raw.web_events_backfill_stage as staged
where
    staged.archive_date between date '{{ date_from }}' and date '{{ date_to }}'
    and staged.outcome = 'ok'
    and staged.event_date
    between date '{{ event_date_from }}' and date '{{ event_date_to }}'
    and not exists (
        select 1 as already_there
        from raw.web_events as landed
        where
            -- raw is partitioned by day(event_timestamp)
            landed.event_timestamp >= timestamp '{{ event_date_from }} 00:00:00'
            and landed.event_timestamp
            < date_add('day', 1, timestamp '{{ event_date_to }} 00:00:00')
            and landed.load_source = 'backfill'
            and landed.event_id = staged.event_id
            and landed.event_timestamp = staged.event_timestamp
    )
