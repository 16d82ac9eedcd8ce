-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."spatial_room_engagement_daily" as target
    using "t_test_erasure_on_trino_631a67"."marts"."spatial_room_engagement_daily__dbt_tmp" as src
        on (src.event_date = target.event_date) and (src.room_day_key = target.room_day_key)
    
    when matched then update set
        "room_day_key" = src."room_day_key",
        "event_date" = src."event_date",
        "space_id" = src."space_id",
        "space_name" = src."space_name",
        "space_type" = src."space_type",
        "room_id" = src."room_id",
        "room_name" = src."room_name",
        "view_count" = src."view_count",
        "session_count" = src."session_count",
        "device_count" = src."device_count",
        "dwell_seconds" = src."dwell_seconds",
        "dwell_seconds_per_view" = src."dwell_seconds_per_view",
        "high_exploration_views" = src."high_exploration_views",
        "medium_exploration_views" = src."medium_exploration_views",
        "low_exploration_views" = src."low_exploration_views",
        "no_3d_data_views" = src."no_3d_data_views",
        "yaw_view_count" = src."yaw_view_count",
        "yaw_sin_sum" = src."yaw_sin_sum",
        "yaw_cos_sum" = src."yaw_cos_sum",
        "yaw_circular_mean_degrees" = src."yaw_circular_mean_degrees",
        "yaw_mean_resultant_length" = src."yaw_mean_resultant_length",
        "yaw_circular_std_degrees" = src."yaw_circular_std_degrees",
        "pitch_min" = src."pitch_min",
        "pitch_max" = src."pitch_max",
        "pitch_range" = src."pitch_range",
        "hfov_avg" = src."hfov_avg",
        "sphere_coverage_share" = src."sphere_coverage_share"
    
        when not matched then insert
    
    ("room_day_key", "event_date", "space_id", "space_name", "space_type", "room_id", "room_name", "view_count", "session_count", "device_count", "dwell_seconds", "dwell_seconds_per_view", "high_exploration_views", "medium_exploration_views", "low_exploration_views", "no_3d_data_views", "yaw_view_count", "yaw_sin_sum", "yaw_cos_sum", "yaw_circular_mean_degrees", "yaw_mean_resultant_length", "yaw_circular_std_degrees", "pitch_min", "pitch_max", "pitch_range", "hfov_avg", "sphere_coverage_share")
    values (src."room_day_key", src."event_date", src."space_id", src."space_name", src."space_type", src."room_id", src."room_name", src."view_count", src."session_count", src."device_count", src."dwell_seconds", src."dwell_seconds_per_view", src."high_exploration_views", src."medium_exploration_views", src."low_exploration_views", src."no_3d_data_views", src."yaw_view_count", src."yaw_sin_sum", src."yaw_cos_sum", src."yaw_circular_mean_degrees", src."yaw_mean_resultant_length", src."yaw_circular_std_degrees", src."pitch_min", src."pitch_max", src."pitch_range", src."hfov_avg", src."sphere_coverage_share")