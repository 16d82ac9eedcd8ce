

-- The journey funnel per day of session start (the seed's
-- user_journey_analysis_iceberg; milestones per event are
-- fct_web_events.journey_milestone): entry -> space view -> room exploration
-- -> engaged exit, for human sessions (bots excluded), with the share of
-- each stage that reaches the next. Stages are cumulative: a session counts
-- at a stage only if it reached every stage before it.

with

sessions as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."fct_sessions"

),

web_events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."fct_web_events"

),

-- every day with events gets a row, so a day whose only session was merged
-- into the day before by a late event is zeroed, as a full refresh would
days as (

    select distinct event_date as session_date
    from web_events
    
        where event_date >= date_add('day', -1, date '2026-11-20')
    

),

human_sessions as (

    select * from sessions
    where
        not is_bot
        
            and session_date
            >= date_add('day', -1, date '2026-11-20')
        

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
        cast(space_view_sessions as double) / nullif(entry_sessions, 0)
            as entry_to_space_view_rate,
        cast(room_exploration_sessions as double) / nullif(space_view_sessions, 0) as space_view_to_room_exploration_rate,
        cast(engaged_exit_sessions as double) / nullif(room_exploration_sessions, 0) as room_exploration_to_engaged_exit_rate,
        cast(engaged_exit_sessions as double) / nullif(entry_sessions, 0)
            as entry_to_engaged_exit_rate

    from filled

)

select * from final