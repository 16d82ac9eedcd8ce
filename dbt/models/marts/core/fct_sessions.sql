{{
    config(
        unique_key=['session_date', 'session_key'],
        **webevents.incremental_config(
            partition_by='session_date',
            delete_when='is_superseded'
        )
    )
}}

-- One row per session: start, end, duration, events, rooms, spaces, entry
-- referrer, exit page, bot flag and the journey stages it reached.
-- A late event can merge sessions, so an incremental run also emits the
-- built sessions it no longer produces with is_superseded = true, which the
-- merge deletes (incremental_config's delete_when, every adapter).

-- The window starts from the newest session_date built: a partition column,
-- so Athena and Trino find its newest value without reading the mart's files
-- (the newest end date read a whole column). It is at most a day before the
-- newest end date, so the window only widens.

{%- if is_incremental() %}
    {%- set rebuild_from = webevents.rebuild_from(
        'session_started_at', 'session_ended_at', 'session_date'
    ) %}
{%- endif %}

with

web_events as (

    select * from {{ ref('fct_web_events') }}

),

{% if is_incremental() %}

    built as (

        select * from {{ this }}

    ),

{% endif %}

scoped_events as (

    select * from web_events
    {% if is_incremental() %}
        where
            event_date >= cast({{ rebuild_from }} as date)
            and session_started_at >= {{ rebuild_from }}
    {% endif %}

),

session_facts as (

    select
        session_key,
        min(device_key) as device_key,
        min(anonymous_id) as anonymous_id,
        min(tracker_session_id) as tracker_session_id,
        max(stitched_user_id) as stitched_user_id,
        min(session_started_at) as session_started_at,
        max(session_ended_at) as session_ended_at,
        count(*) as event_count,
        sum(case when event_type = 'page' then 1 else 0 end) as page_view_count,
        count(distinct room_id) as room_count,
        count(distinct space_id) as space_count,
        max(case when is_session_start then page_referrer end)
            as entry_referrer,
        max(case when is_session_start then page_path end) as entry_page_path,
        max(case when is_session_end then page_path end) as exit_page_path,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        {{ dbt.bool_or('is_cut_session') }} as is_cut_session,
        {{ dbt.bool_or(
            "journey_milestone = 'external_referral_entry'"
        ) }} as has_external_referral_entry,
        {{ dbt.bool_or('has_space_context') }} as has_space_view,
        {{ dbt.bool_or('room_id is not null') }} as has_room_exploration,
        -- session level, not the exit event's milestone: that CASE ranks
        -- space_exploration first, so a long visit ending on a tour page
        -- would never count as an engaged exit (the milestone's rule: the
        -- session ends after more than 5 events)
        count(*) > 5 as has_engaged_exit

    from scoped_events
    group by 1

),

sessions as (

    select
        *,
        cast(session_started_at as date) as session_date,
        {{ webevents.epoch_seconds('session_ended_at') }}
        - {{ webevents.epoch_seconds('session_started_at') }}
            as duration_seconds,
        false as is_superseded

    from session_facts

),

{% if is_incremental() %}

    superseded_sessions as (

        select
            built.session_key,
            built.device_key,
            built.anonymous_id,
            built.tracker_session_id,
            built.stitched_user_id,
            built.session_started_at,
            built.session_ended_at,
            built.event_count,
            built.page_view_count,
            built.room_count,
            built.space_count,
            built.entry_referrer,
            built.entry_page_path,
            built.exit_page_path,
            built.is_bot,
            built.is_cut_session,
            built.has_external_referral_entry,
            built.has_space_view,
            built.has_room_exploration,
            built.has_engaged_exit,
            built.session_date,
            built.duration_seconds,
            true as is_superseded

        from built
        where
            built.session_date >= cast({{ rebuild_from }} as date)
            and built.session_started_at >= {{ rebuild_from }}
            and built.session_key not in (
                select sessions.session_key from sessions
            )

    ),

{% endif %}

final as (

    select * from sessions
    {% if is_incremental() %}
        union all
        select * from superseded_sessions
    {% endif %}

)

select * from final
