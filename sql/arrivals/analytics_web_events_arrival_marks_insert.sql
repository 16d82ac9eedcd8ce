-- Record that a step committed its work for the arrivals up to
-- arrived_through_at (webevents/arrivals.py). Written after the step's work:
-- locally in the same transaction; on Athena, which has no multi-statement
-- transactions, a run killed before this row repeats the step's idempotent
-- work next time. event_dates: the ISO dates the arrivals touched,
-- comma-separated (enrich rows only; empty for bots and dbt).
{%- set arrived_from_at = arrived_from_at | default(none) %}
insert into analytics.web_events_arrival_marks (
    step,
    arrived_from,
    arrived_through,
    event_dates,
    recorded_at
)
values (
    '{{ step }}',
    {%- if arrived_from_at %}
        timestamp '{{ arrived_from_at }}',
    {%- else %}
        cast(null as timestamp(6)),
    {%- endif %}
    timestamp '{{ arrived_through_at }}',
    '{{ event_dates }}',
    timestamp '{{ recorded_at }}'
)
