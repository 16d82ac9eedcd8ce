-- Remove the days the person touched from marts.quality_scores_daily; the dbt run that
-- follows re-derives them from the remaining events (webevents forget).
delete from marts.quality_scores_daily
where event_date in ({{ date_list }})
