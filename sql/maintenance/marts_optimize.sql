-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no OPTIMIZE/VACUUM grammar; Athena runs them.)
-- Compact the partitions of marts.{{ mart }} that today's dbt merge rewrote.
-- Glue-catalog Iceberg table (dbt incremental merge): Athena OPTIMIZE, bounded to the
-- days dbt rewrote so the statement never rewrites the whole table. Athena only.
-- One run per row of marts.csv (mart, partition_column, partition_grain).
-- Athena's OPTIMIZE accepts only partition columns in its WHERE, and rejects the
-- source column of a hidden month(...) partition ("Unexpected FilterNode"): monthly
-- marts are partitioned by an identity month column (the month's first day).
-- The first day dbt rewrote (dbt/macros/incremental_window.sql): the newest day it
-- had built before this run (the previous daily run's run_date, one day before
-- this one's) less lookback_days, less one more day because sessions open at the
-- window start and the daily marts' dwell reach back a day. So 2 + lookback_days
-- days before run_date.
{%- set rewritten_days = lookback_days | int + 2 %}
-- An unpartitioned mart (partition_grain none: dim_identity_ranges, small, merged
-- anywhere in the table) is compacted whole.
-- https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html
{%- if partition_grain == 'none' %}
optimize marts.{{ mart }} rewrite data using bin_pack
{%- elif partition_grain == 'month' %}
optimize marts.{{ mart }} rewrite data using bin_pack
where {{ partition_column }} >= date_trunc(
    'month', date_add('day', -{{ rewritten_days }}, date '{{ run_date }}')
)
{%- else %}
optimize marts.{{ mart }} rewrite data using bin_pack
where {{ partition_column }} >= date_add(
    'day', -{{ rewritten_days }}, date '{{ run_date }}'
)
{%- endif %}
