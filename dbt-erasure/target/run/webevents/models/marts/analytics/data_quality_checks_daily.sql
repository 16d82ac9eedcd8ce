-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."data_quality_checks_daily" as target
    using "t_test_erasure_on_trino_631a67"."marts"."data_quality_checks_daily__dbt_tmp" as src
        on (src.event_date = target.event_date) and (src.check_day_key = target.check_day_key)
    
    when matched then update set
        "check_day_key" = src."check_day_key",
        "event_date" = src."event_date",
        "check_name" = src."check_name",
        "failing_event_count" = src."failing_event_count",
        "event_count" = src."event_count",
        "failing_share" = src."failing_share"
    
        when not matched then insert
    
    ("check_day_key", "event_date", "check_name", "failing_event_count", "event_count", "failing_share")
    values (src."check_day_key", src."event_date", src."check_name", src."failing_event_count", src."event_count", src."failing_share")