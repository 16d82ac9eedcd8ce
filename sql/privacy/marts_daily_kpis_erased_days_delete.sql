-- Remove the days the person touched from marts.daily_kpis; the dbt run that
-- follows re-derives them from the remaining events (webevents forget).
delete from marts.daily_kpis
where kpi_date in ({{ date_list }})
