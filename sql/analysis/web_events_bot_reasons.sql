-- Which bot rules fired over the run window: events and visitors per reason.
-- An event flagged by two rules counts under both.
select
    reasons.bot_reason,
    count(*) as events,
    count(distinct web_events.anonymous_id) as anonymous_visitors
from analytics.web_events as web_events
cross join unnest(web_events.bot_reasons) as reasons (bot_reason)
where
    web_events.event_date
    between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
    and date '{{ run_date }}'
group by reasons.bot_reason
order by events desc, reasons.bot_reason asc
