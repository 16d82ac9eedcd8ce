-- Remove the days the person touched from marts.journey_funnel_daily; the dbt run that
-- follows re-derives them from the remaining events (webevents forget).
delete from marts.journey_funnel_daily
where session_date in ({{ date_list }})
