-- Landing rows replayed from Firehose's iceberg-failed error output, as the
-- Lambda wrote them (timestamps in epoch microseconds), for one event-date
-- range of fewer than 100 dates (Athena writes at most 100 partitions per
-- INSERT). Never through Firehose again: the Lambda would fail a landing row
-- as unknown_shape. A row already in raw (same event_id and received_at, from
-- an earlier replay that stopped before its bookkeeping) is not added again.
-- Columns = transform_lambda/landing_contract.py (tests/webevents check it).
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

with

replayed as (
    select scratch.line as j
    from archive.{{ scratch_table }} as scratch
    where scratch.line != ''
),

landing as (
    select
        json_extract_scalar(r.j, '$.event_id') as event_id,
        cast(
            from_unixtime_nanos(
                cast(
                    json_extract_scalar(r.j, '$.event_timestamp') as bigint
                ) * 1000
            ) as timestamp(6)
        ) as event_timestamp,
        cast(json_extract_scalar(r.j, '$.event_date') as date)
            as event_date,
        json_extract_scalar(r.j, '$.event_type') as event_type,
        json_extract_scalar(r.j, '$.event_name') as event_name,
        json_extract_scalar(r.j, '$.anonymous_id') as anonymous_id,
        json_extract_scalar(r.j, '$.user_id') as user_id,
        json_extract_scalar(r.j, '$.session_id') as session_id,
        json_extract_scalar(r.j, '$.app_id') as app_id,
        json_extract_scalar(r.j, '$.page_url') as page_url,
        json_extract_scalar(r.j, '$.page_path') as page_path,
        json_extract_scalar(r.j, '$.page_referrer') as page_referrer,
        json_extract_scalar(r.j, '$.user_agent') as user_agent,
        json_extract_scalar(r.j, '$.ip_address') as ip_address,
        json_extract_scalar(r.j, '$.space_id') as space_id,
        json_extract_scalar(r.j, '$.space_name') as space_name,
        json_extract_scalar(r.j, '$.space_type') as space_type,
        json_extract_scalar(r.j, '$.room_id') as room_id,
        json_extract_scalar(r.j, '$.room_name') as room_name,
        json_extract_scalar(r.j, '$.community') as community,
        json_extract_scalar(r.j, '$.building') as building,
        json_extract_scalar(r.j, '$.floorplan') as floorplan,
        cast(
            json_extract(r.j, '$.coordinates')
            as row (pitch double, yaw double, hfov double)
        ) as coordinates,
        json_extract_scalar(r.j, '$.properties') as properties,
        json_extract_scalar(r.j, '$.source_format') as source_format,
        cast(
            from_unixtime_nanos(
                cast(
                    json_extract_scalar(r.j, '$.received_at') as bigint
                ) * 1000
            ) as timestamp(6)
        ) as received_at,
        json_extract_scalar(r.j, '$.load_source') as load_source,
        json_extract_scalar(r.j, '$.context') as context,
        json_extract_scalar(r.j, '$.traits') as traits,
        json_extract_scalar(r.j, '$.extra') as extra,
        json_extract_scalar(r.j, '$.utm_source') as utm_source,
        json_extract_scalar(r.j, '$.utm_medium') as utm_medium,
        json_extract_scalar(r.j, '$.utm_campaign') as utm_campaign,
        json_extract_scalar(r.j, '$.utm_term') as utm_term,
        json_extract_scalar(r.j, '$.utm_content') as utm_content,
        json_extract_scalar(r.j, '$.locale') as locale,
        cast(
            from_unixtime_nanos(
                cast(
                    json_extract_scalar(r.j, '$.sent_at') as bigint
                ) * 1000
            ) as timestamp(6)
        ) as sent_at,
        cast(
            from_unixtime_nanos(
                cast(
                    json_extract_scalar(r.j, '$.original_timestamp') as bigint
                ) * 1000
            ) as timestamp(6)
        ) as original_timestamp,
        cast(
            json_extract_scalar(r.j, '$.redacted_field_count') as integer
        ) as redacted_field_count
    from replayed as r
)

select
    landing.event_id,
    landing.event_timestamp,
    landing.event_date,
    landing.event_type,
    landing.event_name,
    landing.anonymous_id,
    landing.user_id,
    landing.session_id,
    landing.app_id,
    landing.page_url,
    landing.page_path,
    landing.page_referrer,
    landing.user_agent,
    landing.ip_address,
    landing.space_id,
    landing.space_name,
    landing.space_type,
    landing.room_id,
    landing.room_name,
    landing.community,
    landing.building,
    landing.floorplan,
    landing.coordinates,
    landing.properties,
    landing.source_format,
    landing.received_at,
    landing.load_source,
    landing.context,
    landing.traits,
    landing.extra,
    landing.utm_source,
    landing.utm_medium,
    landing.utm_campaign,
    landing.utm_term,
    landing.utm_content,
    landing.locale,
    landing.sent_at,
    landing.original_timestamp,
    landing.redacted_field_count
from landing
where
    landing.event_date
    between date '{{ event_date_from }}' and date '{{ event_date_to }}'
    and not exists (
        select 1 as already_there
        from raw.web_events as landed
        where
            -- raw is partitioned by day(event_timestamp)
            landed.event_timestamp >= timestamp '{{ event_date_from }} 00:00:00'
            and landed.event_timestamp
            < date_add('day', 1, timestamp '{{ event_date_to }} 00:00:00')
            and landed.event_id = landing.event_id
            and landed.received_at = landing.received_at
    )
