

-- Failing data-quality checks per event day: one row per day and check ever
-- seen (zero when it did not fail that day), so trends have no gaps.

with

web_events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."fct_web_events"

),

scoped_events as (

    select * from web_events
    
        where event_date >= date_add('day', -1, date '2026-11-20')
    

),

failures as (

    select
        scoped_events.event_date,
        failed.check_name

    from scoped_events
    cross join unnest(scoped_events.quality_issues) as failed (check_name)

),

checks as (

    select distinct check_name from failures
    
        union
        select distinct check_name from "t_test_erasure_on_trino_631a67"."marts"."data_quality_checks_daily"
    

),

day_totals as (

    select
        event_date,
        count(*) as event_count

    from scoped_events
    group by 1

),

failure_counts as (

    select
        event_date,
        check_name,
        count(*) as failing_event_count

    from failures
    group by 1, 2

),

final as (

    select
        lower(to_hex(md5(to_utf8(cast(cast(day_totals.event_date as varchar) || '|' || checks.check_name as varchar))))) as check_day_key,
        day_totals.event_date,
        checks.check_name,
        coalesce(failure_counts.failing_event_count, 0) as failing_event_count,
        day_totals.event_count,
        cast(coalesce(failure_counts.failing_event_count, 0) as double) / nullif(day_totals.event_count, 0) as failing_share

    from day_totals
    cross join checks
    left join failure_counts
        on
            day_totals.event_date = failure_counts.event_date
            and checks.check_name = failure_counts.check_name

)

select * from final