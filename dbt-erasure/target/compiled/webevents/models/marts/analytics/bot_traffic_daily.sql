

-- Bot traffic share per event day and bot rule (sql/bots): one row per day
-- and rule ever seen. An event flagged by several rules counts under each,
-- so shares by reason can add up to more than the day's bot share.

with

web_events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."fct_web_events"

),

scoped_events as (

    select * from web_events
    
        where event_date >= date_add('day', -1, date '2026-11-20')
    

),

flagged as (

    select
        scoped_events.event_date,
        fired.bot_reason

    from scoped_events
    cross join unnest(scoped_events.bot_reasons) as fired (bot_reason)
    where scoped_events.is_bot

),

reasons as (

    select distinct bot_reason from flagged
    
        union
        select distinct bot_reason from "t_test_erasure_on_trino_631a67"."marts"."bot_traffic_daily"
    

),

day_totals as (

    select
        event_date,
        count(*) as event_count,
        sum(case when is_bot then 1 else 0 end) as bot_event_count

    from scoped_events
    group by 1

),

reason_counts as (

    select
        event_date,
        bot_reason,
        count(*) as reason_event_count

    from flagged
    group by 1, 2

),

final as (

    select
        lower(to_hex(md5(to_utf8(cast(cast(day_totals.event_date as varchar) || '|' || reasons.bot_reason as varchar))))) as reason_day_key,
        day_totals.event_date,
        reasons.bot_reason,
        coalesce(reason_counts.reason_event_count, 0) as reason_event_count,
        day_totals.bot_event_count,
        day_totals.event_count,
        cast(coalesce(reason_counts.reason_event_count, 0) as double) / nullif(day_totals.event_count, 0) as reason_share_of_events,
        cast(day_totals.bot_event_count as double) / nullif(day_totals.event_count, 0)
            as bot_share_of_events

    from day_totals
    cross join reasons
    left join reason_counts
        on
            day_totals.event_date = reason_counts.event_date
            and reasons.bot_reason = reason_counts.bot_reason

)

select * from final