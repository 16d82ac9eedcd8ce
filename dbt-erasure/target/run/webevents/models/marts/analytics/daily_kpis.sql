-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."daily_kpis" as target
    using "t_test_erasure_on_trino_631a67"."marts"."daily_kpis__dbt_tmp" as src
        on (src.kpi_date = target.kpi_date)
    
    when matched then update set
        "kpi_date" = src."kpi_date",
        "event_count" = src."event_count",
        "human_event_count" = src."human_event_count",
        "bot_event_count" = src."bot_event_count",
        "page_view_count" = src."page_view_count",
        "human_device_count" = src."human_device_count",
        "identified_user_count" = src."identified_user_count",
        "space_count" = src."space_count",
        "avg_data_quality_score" = src."avg_data_quality_score",
        "avg_session_duration_seconds" = src."avg_session_duration_seconds",
        "bounce_rate" = src."bounce_rate",
        "human_session_count" = src."human_session_count",
        "cut_session_count" = src."cut_session_count"
    
        when not matched then insert
    
    ("kpi_date", "event_count", "human_event_count", "bot_event_count", "page_view_count", "human_device_count", "identified_user_count", "space_count", "avg_data_quality_score", "avg_session_duration_seconds", "bounce_rate", "human_session_count", "cut_session_count")
    values (src."kpi_date", src."event_count", src."human_event_count", src."bot_event_count", src."page_view_count", src."human_device_count", src."identified_user_count", src."space_count", src."avg_data_quality_score", src."avg_session_duration_seconds", src."bounce_rate", src."human_session_count", src."cut_session_count")