-- Rows of the touched days in the daily marts, counted before the first delete:
-- the erased_days_deletes remove exactly these and dbt re-derives them, so the
-- audit holds the real figure even when a re-run after a crash deletes nothing
-- more. One branch per file of run_order.yml's erased_days_deletes (a test
-- keeps them equal).
select
    'marts.bot_traffic_daily' as erased_table,
    count(*) as erased_rows
from marts.bot_traffic_daily
where event_date in ({{ date_list }})
union all
select
    'marts.daily_kpis' as erased_table,
    count(*) as erased_rows
from marts.daily_kpis
where kpi_date in ({{ date_list }})
union all
select
    'marts.quality_check_failures_daily' as erased_table,
    count(*) as erased_rows
from marts.quality_check_failures_daily
where event_date in ({{ date_list }})
union all
select
    'marts.quality_scores_daily' as erased_table,
    count(*) as erased_rows
from marts.quality_scores_daily
where event_date in ({{ date_list }})
union all
select
    'marts.journey_funnel_daily' as erased_table,
    count(*) as erased_rows
from marts.journey_funnel_daily
where session_date in ({{ date_list }})
union all
select
    'marts.spatial_room_engagement_daily' as erased_table,
    count(*) as erased_rows
from marts.spatial_room_engagement_daily
where event_date in ({{ date_list }})
