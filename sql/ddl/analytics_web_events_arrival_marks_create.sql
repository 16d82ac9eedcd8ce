-- Bookkeeping of the arrival-driven daily steps (webevents/jobs/arrivals.py): one
-- row per step and arrived_through it committed. step 'enrich' merged every raw row
-- with received_at in [arrived_from, arrived_through] (arrived_from null = from
-- the first arrival) and lists the event dates those rows touched; 'bots' and
-- 'dbt' rows list the dates that step has handled of the 'enrich' rows up to
-- arrived_through. event_dates: ISO dates, comma-separated.
-- A row is written only after its step's work, so a killed run repeats
-- (idempotently) what it had not recorded.
create table if not exists analytics.web_events_arrival_marks (
    step string,
    arrived_from timestamp,
    arrived_through timestamp,
    event_dates string,
    logged_at timestamp
)
tblproperties ('table_type' = 'iceberg')
