-- Remove the days the person touched from marts.spatial_room_engagement_daily; the dbt run that
-- follows re-derives them from the remaining events (webevents forget).
delete from marts.spatial_room_engagement_daily
where event_date in ({{ date_list }})
