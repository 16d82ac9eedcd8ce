-- Remove the days the person touched from marts.bot_traffic_daily; the dbt run that
-- follows re-derives them from the remaining events (webevents forget).
delete from marts.bot_traffic_daily
where event_date in ({{ date_list }})
