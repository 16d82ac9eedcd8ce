-- Every step's recorded arrival marks, oldest first (a few rows a day):
-- webevents/jobs/arrivals.py derives the next enrich's first arrival and the event
-- dates bots and dbt have not handled yet.
select
    step,
    arrived_from,
    arrived_through,
    event_dates,
    logged_at
from analytics.web_events_arrival_marks
order by arrived_through asc, logged_at asc, step asc
