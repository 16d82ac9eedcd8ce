-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no FOR TIMESTAMP AS OF grammar; Athena runs it.)
-- What changed per event_date since as_of_timestamp: rows then, rows now, the
-- difference (late events, backfills, re-runs). Athena/Trino only.
with events_now as (

    select
        event_date,
        count(*) as events
    from analytics.web_events
    where
        event_date
        between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
        and date '{{ run_date }}'
    group by event_date

),

events_then as (

    select
        event_date,
        count(*) as events
    from analytics.web_events
    for timestamp as of timestamp '{{ as_of_timestamp }}'
    where
        event_date
        between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
        and date '{{ run_date }}'
    group by event_date

)

select
    coalesce(events_now.event_date, events_then.event_date) as event_date,
    coalesce(events_then.events, 0) as events_then,
    coalesce(events_now.events, 0) as events_now,
    coalesce(events_now.events, 0)
    - coalesce(events_then.events, 0) as events_added
from events_now
full outer join events_then
    on events_now.event_date = events_then.event_date
order by event_date
