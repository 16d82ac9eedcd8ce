-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no OPTIMIZE/VACUUM grammar; Athena runs them.)
-- Compact the partitions of marts.spatial_room_engagement_daily that today's dbt merge rewrote.
-- Glue-catalog Iceberg table (dbt incremental merge): Athena OPTIMIZE, bounded to the
-- lookback window so the statement never rewrites the whole table. Athena only.
-- Partitioned by event_month (the month's first day, an identity partition column):
-- Athena's OPTIMIZE accepts only partition columns in its WHERE, and rejects the
-- source column of a hidden month(event_date) partition ("Unexpected FilterNode").
-- dbt rewrites one day more than lookback_days: sessions open at the window start
-- and the daily marts' dwell reach back a day (dbt/macros/incremental_window.sql).
{%- set rewritten_days = lookback_days | int + 1 %}
-- https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html
optimize marts.spatial_room_engagement_daily rewrite data using bin_pack
where event_month >= date_trunc(
    'month', date_add('day', -{{ rewritten_days }}, date '{{ run_date }}')
)
