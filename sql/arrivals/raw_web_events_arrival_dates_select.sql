-- The event dates of the rows that arrived in raw.web_events since
-- arrived_from_at (received_at, inclusive; without it: every row), with the
-- rows and the newest arrival per date: what the next enrich merges
-- (webevents/jobs/arrivals.py). received_at is the Firehose arrival, or the load
-- time of a backfill. It is not a partition column: the engine skips the data
-- files whose received_at statistics end before arrived_from_at, and Firehose
-- writes each commit's files in arrival order, so a daily read touches about
-- one day of files, not the table.
{%- set arrived_from_at = arrived_from_at | default(none) %}
select
    event_date,
    count(*) as arrived_rows,
    max(received_at) as arrived_through
from raw.web_events
{%- if arrived_from_at %}
    where received_at >= timestamp '{{ arrived_from_at }}'
{%- endif %}
group by event_date
order by event_date
