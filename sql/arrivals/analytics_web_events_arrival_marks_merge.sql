-- Record that a step committed its work for the arrivals up to
-- arrived_through_at (webevents/jobs/arrivals.py), one row per (step,
-- arrived_through): a step that runs again for the same arrivals only widens
-- the row's event_dates (the union, computed by the caller), so a re-run and
-- an interrupted run leave the same rows. Written after the step's work:
-- locally in the same transaction; on Athena, which has no multi-statement
-- transactions, a run killed before this row repeats the step's idempotent
-- work next time. event_dates: ISO dates, comma-separated.
{%- set arrived_from_at = arrived_from_at | default(none) %}
merge into analytics.web_events_arrival_marks as target
using (
    select
        '{{ step }}' as step,
        {%- if arrived_from_at %}
            timestamp '{{ arrived_from_at }}' as arrived_from,
        {%- else %}
            cast(null as timestamp(6)) as arrived_from,
        {%- endif %}
        timestamp '{{ arrived_through_at }}' as arrived_through,
        '{{ event_dates }}' as event_dates,
        timestamp '{{ logged_at }}' as logged_at
) as incoming
    on
        target.step = incoming.step
        and target.arrived_through = incoming.arrived_through
when matched and target.event_dates <> incoming.event_dates then
    update
        set event_dates = incoming.event_dates, logged_at = incoming.logged_at
when not matched then insert (
    step, arrived_from, arrived_through, event_dates, logged_at
) values (
    incoming.step,
    incoming.arrived_from,
    incoming.arrived_through,
    incoming.event_dates,
    incoming.logged_at
)
