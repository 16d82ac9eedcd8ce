{{ config(enabled=target.type in ['athena', 'trino']) }}

-- Row counts of analytics.web_events as of each of its newest
-- var time_travel_snapshot_count snapshots, read with
-- `for version as of <snapshot_id>` (Iceberg time travel on Athena/Trino).
-- The snapshot ids are listed at compile time: time travel takes a constant.
-- Disabled on the local DuckDB target, which has no table history.

{%- set events = source('analytics', 'web_events') %}
{%- set snapshots = events.incorporate(
    path={'identifier': events.identifier ~ '$snapshots'}
) %}
{%- set snapshot_ids = [] %}
{%- if execute %}
    {%- set listed = run_query(
        'select snapshot_id from ' ~ snapshots
        ~ ' order by committed_at desc limit '
        ~ var('time_travel_snapshot_count', 10)
    ) %}
    {%- set snapshot_ids = listed.columns[0].values() %}
{%- endif %}

with

versions as (

    {% for snapshot_id in snapshot_ids %}
        select
            cast({{ snapshot_id }} as bigint) as snapshot_id,
            count(*) as visible_row_count,
            count(distinct event_date) as event_date_count
        -- Iceberg time travel, which sqlfluff's athena dialect does not parse
        from {{ events }} for version as of {{ snapshot_id }}  -- noqa: RF04
        {% if not loop.last %}union all{% endif %}
    {% else %}
        -- no snapshot yet (or parsing): an empty result with the same columns
        select
            cast(null as bigint) as snapshot_id,
            cast(null as bigint) as visible_row_count,
            cast(null as bigint) as event_date_count
        where false
    {% endfor %}

)

select * from versions
