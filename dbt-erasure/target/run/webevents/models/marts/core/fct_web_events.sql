-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."fct_web_events" as target
    using "t_test_erasure_on_trino_631a67"."marts"."fct_web_events__dbt_tmp" as src
        on (src.event_date = target.event_date) and (src.event_id = target.event_id)
    
    when matched then update set
        "event_id" = src."event_id",
        "session_key" = src."session_key",
        "identity_key" = src."identity_key",
        "device_key" = src."device_key",
        "anonymous_id" = src."anonymous_id",
        "user_id" = src."user_id",
        "stitched_user_id" = src."stitched_user_id",
        "tracker_session_id" = src."tracker_session_id",
        "app_id" = src."app_id",
        "event_type" = src."event_type",
        "event_name" = src."event_name",
        "source_format" = src."source_format",
        "load_source" = src."load_source",
        "page_url" = src."page_url",
        "page_path" = src."page_path",
        "page_referrer" = src."page_referrer",
        "user_agent" = src."user_agent",
        "space_id" = src."space_id",
        "space_name" = src."space_name",
        "space_type" = src."space_type",
        "room_id" = src."room_id",
        "room_name" = src."room_name",
        "community" = src."community",
        "building" = src."building",
        "floorplan" = src."floorplan",
        "view_pitch" = src."view_pitch",
        "view_yaw" = src."view_yaw",
        "view_hfov" = src."view_hfov",
        "properties_json" = src."properties_json",
        "data_quality_score" = src."data_quality_score",
        "quality_issues" = src."quality_issues",
        "is_bot" = src."is_bot",
        "bot_reasons" = src."bot_reasons",
        "duplicate_count" = src."duplicate_count",
        "session_event_number" = src."session_event_number",
        "session_event_count" = src."session_event_count",
        "is_session_start" = src."is_session_start",
        "is_session_end" = src."is_session_end",
        "is_cut_session" = src."is_cut_session",
        "dwell_seconds" = src."dwell_seconds",
        "spatial_exploration_level" = src."spatial_exploration_level",
        "is_virtual_tour_page" = src."is_virtual_tour_page",
        "has_space_context" = src."has_space_context",
        "journey_milestone" = src."journey_milestone",
        "event_timestamp" = src."event_timestamp",
        "event_date" = src."event_date",
        "session_started_at" = src."session_started_at",
        "session_ended_at" = src."session_ended_at",
        "received_at" = src."received_at",
        "processed_at" = src."processed_at"
    
        when not matched then insert
    
    ("event_id", "session_key", "identity_key", "device_key", "anonymous_id", "user_id", "stitched_user_id", "tracker_session_id", "app_id", "event_type", "event_name", "source_format", "load_source", "page_url", "page_path", "page_referrer", "user_agent", "space_id", "space_name", "space_type", "room_id", "room_name", "community", "building", "floorplan", "view_pitch", "view_yaw", "view_hfov", "properties_json", "data_quality_score", "quality_issues", "is_bot", "bot_reasons", "duplicate_count", "session_event_number", "session_event_count", "is_session_start", "is_session_end", "is_cut_session", "dwell_seconds", "spatial_exploration_level", "is_virtual_tour_page", "has_space_context", "journey_milestone", "event_timestamp", "event_date", "session_started_at", "session_ended_at", "received_at", "processed_at")
    values (src."event_id", src."session_key", src."identity_key", src."device_key", src."anonymous_id", src."user_id", src."stitched_user_id", src."tracker_session_id", src."app_id", src."event_type", src."event_name", src."source_format", src."load_source", src."page_url", src."page_path", src."page_referrer", src."user_agent", src."space_id", src."space_name", src."space_type", src."room_id", src."room_name", src."community", src."building", src."floorplan", src."view_pitch", src."view_yaw", src."view_hfov", src."properties_json", src."data_quality_score", src."quality_issues", src."is_bot", src."bot_reasons", src."duplicate_count", src."session_event_number", src."session_event_count", src."is_session_start", src."is_session_end", src."is_cut_session", src."dwell_seconds", src."spatial_exploration_level", src."is_virtual_tour_page", src."has_space_context", src."journey_milestone", src."event_timestamp", src."event_date", src."session_started_at", src."session_ended_at", src."received_at", src."processed_at")