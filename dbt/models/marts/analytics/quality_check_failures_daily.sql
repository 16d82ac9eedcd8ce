{#- Athena: monthly Iceberg partitions, as a day of this mart is only a few rows;
    an identity column (event_month), not month(event_date): Athena's OPTIMIZE filters
    on partition columns only (sql/maintenance, docs/engine-fidelity.md). -#}
{{
    config(
        unique_key=['event_date', 'check_day_key'],
        **webevents.incremental_config(partition_by='event_month')
    )
}}

-- Failing data-quality checks per event day: one row per day and check ever
-- seen (zero when it did not fail that day), so trends have no gaps.

with

web_events as (

    select * from {{ ref('fct_web_events') }}

),

scoped_events as (

    select * from web_events
    {% if is_incremental() %}
        where event_date >= {{ webevents.daily_window_start('event_date') }}
    {% endif %}

),

failures as (

    select
        scoped_events.event_date,
        failed.check_name

    from scoped_events
    {{ webevents.unnest_array(
        'scoped_events.quality_issues', 'failed', 'check_name'
    ) }}

),

checks as (

    select distinct check_name from failures
    {% if is_incremental() %}
        union
        select distinct check_name from {{ this }}
    {% endif %}

),

day_totals as (

    select
        event_date,
        count(*) as event_count

    from scoped_events
    group by 1

),

failure_counts as (

    select
        event_date,
        check_name,
        count(*) as failing_event_count

    from failures
    group by 1, 2

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'cast(day_totals.event_date as varchar)', "'|'", 'checks.check_name'
        ])) }} as check_day_key,
        day_totals.event_date,
        checks.check_name,
        coalesce(failure_counts.failing_event_count, 0) as failing_event_count,
        day_totals.event_count,
        {{ webevents.safe_divide(
            'coalesce(failure_counts.failing_event_count, 0)', 'day_totals.event_count'
        ) }} as failing_share,
        cast(date_trunc('month', day_totals.event_date) as date) as event_month

    from day_totals
    cross join checks
    left join failure_counts
        on
            day_totals.event_date = failure_counts.event_date
            and checks.check_name = failure_counts.check_name

)

select * from final
