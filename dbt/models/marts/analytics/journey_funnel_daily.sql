{#- Athena: monthly Iceberg partitions, as a day of this mart is only a few rows;
    an identity column (session_month), not month(session_date): Athena's OPTIMIZE filters
    on partition columns only (sql/maintenance, docs/engine-fidelity.md). -#}
{{
    config(
        unique_key='session_date',
        **webevents.incremental_config(partition_by='session_month')
    )
}}

-- The journey funnel per day of session start (the architecture guide's
-- user_journey_analysis_iceberg; milestones per event are
-- fct_web_events.journey_milestone): entry -> space view -> room exploration
-- -> engaged exit, for human sessions (bots excluded), with the share of
-- each stage that reaches the next. Stages are cumulative: a session counts
-- at a stage only if it reached every stage before it.

with

sessions as (

    select * from {{ ref('fct_sessions') }}

),

web_events as (

    select * from {{ ref('fct_web_events') }}

),

-- every day with events gets a row, so a day whose only session was merged
-- into the day before by a late event is zeroed, as a full refresh would
days as (

    select distinct event_date as session_date
    from web_events
    {% if is_incremental() %}
        where event_date >= {{ webevents.daily_window_start('session_date') }}
    {% endif %}

),

human_sessions as (

    select * from sessions
    where
        not is_bot
        {% if is_incremental() %}
            and session_date
            >= {{ webevents.daily_window_start('session_date') }}
        {% endif %}

),

stages as (

    select
        session_date,
        has_external_referral_entry,
        has_space_view as reached_space_view,
        has_space_view and has_room_exploration as reached_room_exploration,
        has_space_view and has_room_exploration and has_engaged_exit
            as reached_engaged_exit

    from human_sessions

),

daily as (

    select
        session_date,
        count(*) as entry_sessions,
        sum(case when has_external_referral_entry then 1 else 0 end)
            as external_referral_sessions,
        sum(case when reached_space_view then 1 else 0 end)
            as space_view_sessions,
        sum(case when reached_room_exploration then 1 else 0 end)
            as room_exploration_sessions,
        sum(case when reached_engaged_exit then 1 else 0 end)
            as engaged_exit_sessions

    from stages
    group by 1

),

filled as (

    select
        days.session_date,
        coalesce(daily.entry_sessions, 0) as entry_sessions,
        coalesce(daily.external_referral_sessions, 0)
            as external_referral_sessions,
        coalesce(daily.space_view_sessions, 0) as space_view_sessions,
        coalesce(daily.room_exploration_sessions, 0)
            as room_exploration_sessions,
        coalesce(daily.engaged_exit_sessions, 0) as engaged_exit_sessions

    from days
    left join daily
        on days.session_date = daily.session_date

),

final as (

    select
        *,
        {{ webevents.safe_divide('space_view_sessions', 'entry_sessions') }}
            as entry_to_space_view_rate,
        {{ webevents.safe_divide(
            'room_exploration_sessions', 'space_view_sessions'
        ) }} as space_view_to_room_exploration_rate,
        {{ webevents.safe_divide(
            'engaged_exit_sessions', 'room_exploration_sessions'
        ) }} as room_exploration_to_engaged_exit_rate,
        {{ webevents.safe_divide('engaged_exit_sessions', 'entry_sessions') }}
            as entry_to_engaged_exit_rate,
        cast(date_trunc('month', session_date) as date) as session_month

    from filled

)

select * from final
