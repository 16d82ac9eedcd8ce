-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."bot_traffic_daily" as target
    using "t_test_erasure_on_trino_631a67"."marts"."bot_traffic_daily__dbt_tmp" as src
        on (src.event_date = target.event_date) and (src.reason_day_key = target.reason_day_key)
    
    when matched then update set
        "reason_day_key" = src."reason_day_key",
        "event_date" = src."event_date",
        "bot_reason" = src."bot_reason",
        "reason_event_count" = src."reason_event_count",
        "bot_event_count" = src."bot_event_count",
        "event_count" = src."event_count",
        "reason_share_of_events" = src."reason_share_of_events",
        "bot_share_of_events" = src."bot_share_of_events"
    
        when not matched then insert
    
    ("reason_day_key", "event_date", "bot_reason", "reason_event_count", "bot_event_count", "event_count", "reason_share_of_events", "bot_share_of_events")
    values (src."reason_day_key", src."event_date", src."bot_reason", src."reason_event_count", src."bot_event_count", src."event_count", src."reason_share_of_events", src."bot_share_of_events")