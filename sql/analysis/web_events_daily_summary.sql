-- Daily traffic over the run window: events, visitors, sessions, bot share and
-- data quality. The first query to run; filter is_bot to see humans only.
select
    event_date,
    count(*) as events,
    count(distinct anonymous_id) as anonymous_visitors,
    count(distinct session_id) as sessions,
    avg(case when is_bot then 1e0 else 0e0 end) as bot_share,
    avg(data_quality_score) as avg_data_quality_score
from analytics.web_events
where
    event_date
    between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
    and date '{{ run_date }}'
group by event_date
order by event_date
