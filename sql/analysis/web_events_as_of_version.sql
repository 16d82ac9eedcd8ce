-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no FOR VERSION AS OF grammar; Athena runs it.)
-- The run window as one snapshot of analytics.web_events held it; take a
-- snapshot_id from web_events_snapshots.sql. Athena/Trino only.
select
    event_date,
    count(*) as events,
    count_if(is_bot) as bot_events,
    avg(data_quality_score) as avg_data_quality_score
from analytics.web_events
for version as of {{ snapshot_id }}
where
    event_date
    between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
    and date '{{ run_date }}'
group by event_date
order by event_date
