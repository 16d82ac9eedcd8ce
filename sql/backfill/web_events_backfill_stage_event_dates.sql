-- The event dates the chunk's good lines fall on: `webevents backfill` splits
-- the landing insert into event-date ranges of fewer than 100 dates, because
-- Athena writes at most 100 partitions per INSERT:
-- https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html
select
    event_date,
    count(*) as events
from raw.web_events_backfill_stage
where
    archive_date between date '{{ date_from }}' and date '{{ date_to }}'
    and outcome = 'ok'
group by event_date
order by event_date
