{#- Athena: monthly Iceberg partitions, as a day of this mart is only a few rows;
    an identity column (event_month), not month(event_date): Athena's OPTIMIZE filters
    on partition columns only (sql/maintenance, docs/engine-fidelity.md). -#}
{{
    config(
        unique_key='event_date',
        **webevents.incremental_config(partition_by='event_month')
    )
}}

-- Data-quality trend per event day: distribution of data_quality_score
-- (the rubric in docs/data-quality.md), landed records against distinct
-- events, and how many events failed at least one check.

with

web_events as (

    select * from {{ ref('fct_web_events') }}

),

raw_events as (

    select * from {{ ref('stg_raw__web_events') }}

),

scoped_events as (

    select * from web_events
    {% if is_incremental() %}
        where event_date >= {{ webevents.daily_window_start('event_date') }}
    {% endif %}

),

landed as (

    select
        event_date,
        count(*) as landed_record_count

    from raw_events
    {% if is_incremental() %}
        where event_date >= {{ webevents.daily_window_start('event_date') }}
    {% endif %}
    group by 1

),

scores as (

    select
        event_date,
        count(*) as event_count,
        sum(duplicate_count - 1) as duplicate_copy_count,
        avg(data_quality_score) as avg_score,
        min(data_quality_score) as min_score,
        sum(case when data_quality_score >= 1 then 1 else 0 end)
            as score_perfect_count,
        sum(
            case
                when data_quality_score >= 0.8 and data_quality_score < 1
                    then 1
                else 0
            end
        ) as score_0_8_to_1_count,
        sum(
            case
                when data_quality_score >= 0.5 and data_quality_score < 0.8
                    then 1
                else 0
            end
        ) as score_0_5_to_0_8_count,
        sum(case when data_quality_score < 0.5 then 1 else 0 end)
            as score_below_0_5_count,
        sum(case when data_quality_score is null then 1 else 0 end)
            as score_missing_count,
        sum(
            case
                when {{ webevents.array_size('quality_issues') }} > 0 then 1
                else 0
            end
        ) as events_failing_checks

    from scoped_events
    group by 1

),

final as (

    select
        scores.*,
        {{ webevents.safe_divide(
            'scores.events_failing_checks', 'scores.event_count'
        ) }} as failing_share,
        coalesce(landed.landed_record_count, 0) as landed_record_count,
        cast(date_trunc('month', scores.event_date) as date) as event_month

    from scores
    left join landed
        on scores.event_date = landed.event_date

)

select * from final
