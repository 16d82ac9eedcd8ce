

-- Data-quality trend per event day: distribution of data_quality_score
-- (the rubric in docs/data-quality.md), landed records against distinct
-- events, and how many events failed at least one check.

with

web_events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."fct_web_events"

),

raw_events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."stg_raw__web_events"

),

scoped_events as (

    select * from web_events
    
        where event_date >= date_add('day', -1, date '2026-11-20')
    

),

landed as (

    select
        event_date,
        count(*) as landed_record_count

    from raw_events
    
        where event_date >= date_add('day', -1, date '2026-11-20')
    
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
                when coalesce(cardinality(quality_issues), 0) > 0 then 1
                else 0
            end
        ) as events_failing_checks

    from scoped_events
    group by 1

),

final as (

    select
        scores.*,
        cast(scores.events_failing_checks as double) / nullif(scores.event_count, 0) as failing_share,
        coalesce(landed.landed_record_count, 0) as landed_record_count

    from scores
    left join landed
        on scores.event_date = landed.event_date

)

select * from final