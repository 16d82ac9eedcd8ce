{{
    config(
        unique_key=['event_date', 'event_id'],
        **webevents.incremental_config(partition_by='event_date')
    )
}}

-- Session boundaries per event. A session is a run of events of one device
-- and one tracker session id with no gap over var session_gap_minutes (a gap
-- of exactly that long continues it); a visit longer than
-- var session_max_minutes is cut into sessions of at most that length,
-- counted from the visit start, and each part is flagged is_cut_session.
-- Incremental runs re-derive, per device and tracker session, everything from
-- the start of the session open at the window start (keeping its visit's
-- start), so late events extend, merge or split sessions exactly as a full
-- refresh would, and the work is bounded by lookback_days plus one session.

{%- if is_incremental() %}
    {%- set window_start = (
        'cast(' ~ webevents.window_start_date() ~ ' as timestamp(6))'
    ) %}
    {%- set rebuild_from = webevents.rebuild_from(
        'session_started_at', 'event_timestamp'
    ) %}
{%- endif %}

with

events as (

    select * from {{ ref('stg_analytics__web_events') }}

),

{% if is_incremental() %}

    built as (

        select * from {{ this }}

    ),

    -- keys with a session open at the window start: re-read from that session's
    -- start and keep the start of its visit, which no event in the window can move
    reopened_keys as (

        select
            built.device_key,
            built.tracker_session_key,
            min(built.session_started_at) as reopened_from,
            min(built.visit_started_at) as carried_visit_started_at

        from built
        where
            -- the date bound lets Athena prune partitions of the built table
            built.event_date >= cast({{ dbt.dateadd(
                'day', -1, window_start
            ) }} as date)
            and built.event_timestamp >= {{ dbt.dateadd(
                'minute', -var('session_gap_minutes'), window_start
            ) }}
        group by 1, 2

    ),

{% endif %}

keyed_events as (

    select
        event_id,
        event_timestamp,
        event_date,
        coalesce(
            anonymous_id,
            {{ dbt.concat(["'user:'", 'user_id']) }},
            {{ dbt.concat(["'event:'", 'event_id']) }}
        ) as device_key,
        coalesce(tracker_session_id, '') as tracker_session_key

    from events
    {% if is_incremental() %}
        where event_date >= cast({{ rebuild_from }} as date)
    {% endif %}

),

scoped_events as (

    select
        keyed_events.*,
        {% if is_incremental() %}
            case
                when
                    reopened_keys.carried_visit_started_at
                    < reopened_keys.reopened_from
                    and reopened_keys.carried_visit_started_at
                    < {{ window_start }}
                    then reopened_keys.carried_visit_started_at
            end as carried_visit_started_at
        {% else %}
            cast(null as timestamp(6)) as carried_visit_started_at
        {% endif %}

    from keyed_events
    {% if is_incremental() %}
        left join reopened_keys  -- noqa: ST11
            on
                keyed_events.device_key = reopened_keys.device_key
                and keyed_events.tracker_session_key
                = reopened_keys.tracker_session_key
        where
            keyed_events.event_timestamp >= {{ window_start }}  -- noqa: LT02
            or reopened_keys.reopened_from <= keyed_events.event_timestamp
    {% endif %}

),

gaps as (

    select
        *,
        lag(event_timestamp) over (
            partition by device_key, tracker_session_key
            order by event_timestamp, event_id
        ) as previous_event_at

    from scoped_events

),

visit_starts as (

    select
        *,
        case
            when previous_event_at is null then 1
            when event_timestamp > {{ dbt.dateadd(
                'minute', var('session_gap_minutes'), 'previous_event_at'
            ) }} then 1
            else 0
        end as is_visit_start

    from gaps

),

visits as (

    select
        *,
        sum(is_visit_start) over (
            partition by device_key, tracker_session_key
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        ) as visit_number

    from visit_starts

),

visit_parts as (

    select
        *,
        case
            -- the scope starts inside a visit that began before it
            when visit_number = 1 and carried_visit_started_at is not null
                then carried_visit_started_at
            else min(event_timestamp) over (
                    partition by device_key, tracker_session_key, visit_number
                )
        end as visit_started_at

    from visits

),

session_parts as (

    select
        *,
        cast(floor(
            (
                {{ webevents.epoch_seconds('event_timestamp') }}
                - {{ webevents.epoch_seconds('visit_started_at') }}
            ) / ({{ var('session_max_minutes') }} * 60)
        ) as integer) as visit_part

    from visit_parts

),

sessions as (

    select
        *,
        {{ dbt.hash(dbt.concat([
            'device_key', "'|'",
            'tracker_session_key', "'|'",
            "cast(cast(" ~ webevents.epoch_seconds('visit_started_at')
                ~ " * 1000000 as bigint) as varchar)", "'|'",
            'cast(visit_part as varchar)',
        ])) }} as session_key,
        max(visit_part) over (
            partition by device_key, tracker_session_key, visit_number
        ) > 0 as is_cut_session

    from session_parts

),

final as (

    select
        event_id,
        event_timestamp,
        event_date,
        device_key,
        tracker_session_key,
        visit_started_at,
        visit_part,
        session_key,
        is_cut_session,
        min(event_timestamp) over (
            partition by session_key
        ) as session_started_at,
        max(event_timestamp) over (
            partition by session_key
        ) as session_ended_at,
        row_number() over (
            partition by session_key order by event_timestamp, event_id
        ) as session_event_number,
        count(*) over (partition by session_key) as session_event_count,
        lead(event_timestamp) over (
            partition by session_key order by event_timestamp, event_id
        ) as next_event_at

    from sessions

)

select * from final
