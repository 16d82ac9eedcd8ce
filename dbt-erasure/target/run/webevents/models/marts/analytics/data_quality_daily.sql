-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."data_quality_daily" as target
    using "t_test_erasure_on_trino_631a67"."marts"."data_quality_daily__dbt_tmp" as src
        on (src.event_date = target.event_date)
    
    when matched then update set
        "event_date" = src."event_date",
        "event_count" = src."event_count",
        "duplicate_copy_count" = src."duplicate_copy_count",
        "avg_score" = src."avg_score",
        "min_score" = src."min_score",
        "score_perfect_count" = src."score_perfect_count",
        "score_0_8_to_1_count" = src."score_0_8_to_1_count",
        "score_0_5_to_0_8_count" = src."score_0_5_to_0_8_count",
        "score_below_0_5_count" = src."score_below_0_5_count",
        "score_missing_count" = src."score_missing_count",
        "events_failing_checks" = src."events_failing_checks",
        "failing_share" = src."failing_share",
        "landed_record_count" = src."landed_record_count"
    
        when not matched then insert
    
    ("event_date", "event_count", "duplicate_copy_count", "avg_score", "min_score", "score_perfect_count", "score_0_8_to_1_count", "score_0_5_to_0_8_count", "score_below_0_5_count", "score_missing_count", "events_failing_checks", "failing_share", "landed_record_count")
    values (src."event_date", src."event_count", src."duplicate_copy_count", src."avg_score", src."min_score", src."score_perfect_count", src."score_0_8_to_1_count", src."score_0_5_to_0_8_count", src."score_below_0_5_count", src."score_missing_count", src."events_failing_checks", src."failing_share", src."landed_record_count")