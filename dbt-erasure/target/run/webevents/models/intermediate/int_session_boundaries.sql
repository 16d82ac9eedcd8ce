-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."int_session_boundaries" as target
    using "t_test_erasure_on_trino_631a67"."marts"."int_session_boundaries__dbt_tmp" as src
        on (src.event_date = target.event_date) and (src.event_id = target.event_id)
    
    when matched then update set
        "event_id" = src."event_id",
        "event_timestamp" = src."event_timestamp",
        "event_date" = src."event_date",
        "device_key" = src."device_key",
        "tracker_session_key" = src."tracker_session_key",
        "visit_started_at" = src."visit_started_at",
        "visit_part" = src."visit_part",
        "session_key" = src."session_key",
        "is_cut_session" = src."is_cut_session",
        "session_started_at" = src."session_started_at",
        "session_ended_at" = src."session_ended_at",
        "session_event_number" = src."session_event_number",
        "session_event_count" = src."session_event_count",
        "next_event_at" = src."next_event_at"
    
        when not matched then insert
    
    ("event_id", "event_timestamp", "event_date", "device_key", "tracker_session_key", "visit_started_at", "visit_part", "session_key", "is_cut_session", "session_started_at", "session_ended_at", "session_event_number", "session_event_count", "next_event_at")
    values (src."event_id", src."event_timestamp", src."event_date", src."device_key", src."tracker_session_key", src."visit_started_at", src."visit_part", src."session_key", src."is_cut_session", src."session_started_at", src."session_ended_at", src."session_event_number", src."session_event_count", src."next_event_at")