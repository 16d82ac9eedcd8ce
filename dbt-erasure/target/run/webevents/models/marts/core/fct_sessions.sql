-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."fct_sessions" as target
    using "t_test_erasure_on_trino_631a67"."marts"."fct_sessions__dbt_tmp" as src
        on (src.session_date = target.session_date) and (src.session_key = target.session_key)
    
        when matched and (src.is_superseded) then delete
    
    when matched then update set
        "session_key" = src."session_key",
        "device_key" = src."device_key",
        "anonymous_id" = src."anonymous_id",
        "tracker_session_id" = src."tracker_session_id",
        "stitched_user_id" = src."stitched_user_id",
        "session_started_at" = src."session_started_at",
        "session_ended_at" = src."session_ended_at",
        "event_count" = src."event_count",
        "page_view_count" = src."page_view_count",
        "room_count" = src."room_count",
        "space_count" = src."space_count",
        "entry_referrer" = src."entry_referrer",
        "entry_page_path" = src."entry_page_path",
        "exit_page_path" = src."exit_page_path",
        "is_bot" = src."is_bot",
        "is_cut_session" = src."is_cut_session",
        "has_external_referral_entry" = src."has_external_referral_entry",
        "has_space_view" = src."has_space_view",
        "has_room_exploration" = src."has_room_exploration",
        "has_engaged_exit" = src."has_engaged_exit",
        "session_date" = src."session_date",
        "duration_seconds" = src."duration_seconds",
        "is_superseded" = src."is_superseded"
    
        when not matched and (not src.is_superseded) then insert
    
    ("session_key", "device_key", "anonymous_id", "tracker_session_id", "stitched_user_id", "session_started_at", "session_ended_at", "event_count", "page_view_count", "room_count", "space_count", "entry_referrer", "entry_page_path", "exit_page_path", "is_bot", "is_cut_session", "has_external_referral_entry", "has_space_view", "has_room_exploration", "has_engaged_exit", "session_date", "duration_seconds", "is_superseded")
    values (src."session_key", src."device_key", src."anonymous_id", src."tracker_session_id", src."stitched_user_id", src."session_started_at", src."session_ended_at", src."event_count", src."page_view_count", src."room_count", src."space_count", src."entry_referrer", src."entry_page_path", src."exit_page_path", src."is_bot", src."is_cut_session", src."has_external_referral_entry", src."has_space_view", src."has_room_exploration", src."has_engaged_exit", src."session_date", src."duration_seconds", src."is_superseded")