-- Merge raw.web_events into analytics.web_events for the run-date window
-- [run_date - lookback_days, run_date], one row per event_id.
-- With arrived_through_at (the daily job, webevents/jobs/arrivals.py) only the
-- event_ids of rows that arrived in [arrived_from_at, arrived_through_at]
-- (received_at) are merged, with every copy of them in the window: what to
-- merge is chosen by arrival, so a late event of any age is merged by the next
-- run, and the window is only the arrivals' event dates (partition pruning and
-- at most 100 partitions per write). Without it (a catch-up by hand) every
-- event of the window is merged.
-- Athena rejects a MERGE where two source rows match one target row, so the
-- source keeps exactly one copy per event_id, chosen deterministically: the
-- first to arrive (received_at), ties broken by load source and content.
-- data_quality_score / quality_issues: the rubric in docs/data-quality.md.
-- space_type is a partition column of analytics.web_events and free text from
-- the client: it is bounded to known_space_types plus 'other' (null stays null),
-- so a day is at most 8 partitions and a window of webevents/jobs/windows.py's
-- MAX_WINDOW_DAYS stays under Athena's 100 partitions per write
-- (docs/decisions.md; raw.web_events keeps what the client sent).
-- One row per event_id across runs too: a copy of an event_id already merged
-- with a date up to dedupe_horizon_days before the window is left out.
-- Re-running changes nothing: a matched row is updated (and gets a new
-- processed_timestamp) only when one of its values differs. is_bot and
-- bot_reasons are left to sql/bots/ (new rows start as not flagged).
{#- check name, weight, failure condition: weights sum to 1; a 0.00 check is
    reported in quality_issues without lowering the score -#}
{%- set quality_checks = [
    ("missing_identity", 0.20, "anonymous_id is null and user_id is null"),
    ("missing_session", 0.15, "session_id is null"),
    ("missing_event_type", 0.10, "event_type is null"),
    ("missing_space", 0.15, "space_id is null"),
    ("missing_page_url", 0.10, "page_url is null"),
    ("missing_user_agent", 0.10, "user_agent is null"),
    ("future_timestamp", 0.10,
        "event_timestamp > date_add('minute', 5, received_at)"),
    ("content_derived_id", 0.05, "event_id like 'h%' and length(event_id) = 65"),
    ("partial_coordinates", 0.05,
        "coordinates is not null and (coordinates.pitch is null"
        ~ " or coordinates.yaw is null or coordinates.hfov is null)"),
    ("clock_skew", 0.00,
        "original_timestamp is not null and abs(date_diff('second',"
        ~ " original_timestamp, event_timestamp)) > 300"),
    ("credential_removed", 0.00, "redacted_field_count > 0"),
] -%}
{%- set landing_columns = [
    "event_id", "event_timestamp", "event_date", "event_type", "event_name",
    "anonymous_id", "user_id", "session_id", "app_id", "page_url", "page_path",
    "page_referrer", "user_agent", "ip_address", "space_id", "space_name",
    "space_type", "room_id", "room_name", "community", "building",
    "floorplan", "coordinates", "properties", "source_format", "received_at",
    "load_source", "context", "traits", "extra", "utm_source", "utm_medium",
    "utm_campaign", "utm_term", "utm_content", "locale", "sent_at",
    "original_timestamp", "redacted_field_count",
] -%}
{%- set dedupe_horizon_days = dedupe_horizon_days | default(30) %}
{#- arrival-driven runs only (webevents/jobs/arrivals.py); none = a window by hand -#}
{%- set arrived_from_at = arrived_from_at | default(none) %}
{%- set arrived_through_at = arrived_through_at | default(none) %}
{#- webevents/jobs/windows.py KNOWN_SPACE_TYPES: the same list -#}
{%- set known_space_types = [
    "amenity", "apartment", "commercial", "condo", "single_family", "townhouse",
] -%}
{%- set compared_columns = landing_columns + [
    "data_quality_score", "quality_issues", "duplicate_count",
] %}
merge into analytics.web_events as target
using (
    with

    raw_window as (
        select *
        from raw.web_events
        where
            -- raw is partitioned by day(event_timestamp)
            event_timestamp >= date_add(
                'day',
                -{{ lookback_days }},
                timestamp '{{ run_date }} 00:00:00'
            )
            and event_timestamp
            < date_add('day', 1, timestamp '{{ run_date }} 00:00:00')
    ),

    {%- if arrived_through_at %}

        -- the events with a copy that arrived since the last run
        arrived as (
            select distinct event_id
            from raw_window
            where
                {%- if arrived_from_at %}
                    received_at >= timestamp '{{ arrived_from_at }}' and
                {%- endif %}
                received_at <= timestamp '{{ arrived_through_at }}'
        ),
    {%- endif %}

    ranked as (
        select
            *,
            count(*) over (partition by event_id) as copies,
            row_number() over (
                partition by event_id
                order by
                    received_at asc,
                    load_source asc,
                    event_timestamp asc,
                    properties asc,
                    coalesce(session_id, '') asc,
                    coalesce(anonymous_id, '') asc,
                    coalesce(page_url, '') asc,
                    coalesce(user_agent, '') asc,
                    -- a producer's retry re-sends the event with a new sentAt
                    coalesce(sent_at, timestamp '1970-01-01 00:00:00') asc,
                    coalesce(extra, '') asc,
                    coalesce(context, '') asc,
                    coalesce(traits, '') asc
            ) as copy_rank
        from raw_window
        {%- if arrived_through_at %}
            where event_id in (select arrived.event_id from arrived)
        {%- endif %}
    ),

    -- an event_id merged by an earlier run, from a copy dated outside the
    -- window (the same messageId re-sent with another timestamp): the first
    -- copy stays, this one is not inserted again. Horizon: dedupe_horizon_days
    -- before the window, and after it (a copy dated earlier can arrive later,
    -- and arrival-driven runs merge it whatever its age; docs/decisions.md);
    -- the read prunes to those dates.
    merged_before as (
        select event_id
        from analytics.web_events
        where
            (
                event_date >= date_add(
                    'day',
                    -({{ lookback_days }} + {{ dedupe_horizon_days }}),
                    date '{{ run_date }}'
                )
                and event_date
                < date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
            )
            or (
                event_date > date '{{ run_date }}'
                and event_date <= date_add(
                    'day', {{ dedupe_horizon_days }}, date '{{ run_date }}'
                )
            )
    ),

    deduplicated as (
        select ranked.*
        from ranked
        where
            ranked.copy_rank = 1
            and ranked.event_id not in (
                select merged_before.event_id from merged_before
            )
    ),

    quality as (
        select
            *,
            nullif(
                replace(replace(lower(trim(space_type)), ' ', '_'), '-', '_'),
                ''
            ) as space_type_key,
            filter(
                array[
                    {%- for name, weight, failed in quality_checks %}
                        case when {{ failed }} then '{{ name }}' end
                        {{- "," if not loop.last }}
                    {%- endfor %}
                ],
                issue -> issue is not null
            ) as quality_issues,
            round(
                1.0
                {%- for name, weight, failed in quality_checks %}
                    - case when {{ failed }} then {{ weight }} else 0.0 end
                {%- endfor %},
                2
            ) as data_quality_score
        from deduplicated
    )

    select
        {%- for column in landing_columns if column != "space_type" %}
            {{ column }},
        {%- endfor %}
        case
            when space_type_key is null then null
            when space_type_key in (
                    {%- for known in known_space_types %}
                        '{{ known }}'{{ "," if not loop.last }}
                    {%- endfor %}
                ) then space_type_key
            else 'other'
        end as space_type,
        cast(data_quality_score as double) as data_quality_score,
        quality_issues,
        cast(copies as integer) as duplicate_count
    from quality
) as incoming
    on
        target.event_id = incoming.event_id
        -- analytics is partitioned by event_date: prune to the window
        and target.event_date
        between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
        and date '{{ run_date }}'
when matched and (
    {%- for column in compared_columns %}
        target.{{ column }} is distinct from incoming.{{ column }}
        {{- " or" if not loop.last }}
    {%- endfor %}
) then
    update
        set
            {%- for column in compared_columns %}
                {{ column }} = incoming.{{ column }},
            {%- endfor %}
            processed_timestamp = cast(current_timestamp as timestamp(6))
when not matched then insert (
    {%- for column in compared_columns %}
        {{ column }},
    {%- endfor %}
    is_bot,
    bot_reasons,
    processed_timestamp
) values (
    {%- for column in compared_columns %}
        incoming.{{ column }},
    {%- endfor %}
    false,
    cast(array[] as array(varchar)),
    cast(current_timestamp as timestamp(6))
)
