-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no FOR TIMESTAMP AS OF grammar; Athena runs it.)
-- The run window as analytics.web_events held it at as_of_timestamp (Iceberg
-- time travel), e.g. to reproduce a report. Athena/Trino only.
-- https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-time-travel-and-version-travel-queries.html
select
    event_date,
    count(*) as events,
    count_if(is_bot) as bot_events,
    avg(data_quality_score) as avg_data_quality_score
from analytics.web_events
for timestamp as of timestamp '{{ as_of_timestamp }}'
where
    event_date
    between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
    and date '{{ run_date }}'
group by event_date
order by event_date
