-- back compat for old kwarg name
  
  

    merge into "t_test_erasure_on_trino_631a67"."marts"."journey_funnel_daily" as target
    using "t_test_erasure_on_trino_631a67"."marts"."journey_funnel_daily__dbt_tmp" as src
        on (src.session_date = target.session_date)
    
    when matched then update set
        "session_date" = src."session_date",
        "entry_sessions" = src."entry_sessions",
        "external_referral_sessions" = src."external_referral_sessions",
        "space_view_sessions" = src."space_view_sessions",
        "room_exploration_sessions" = src."room_exploration_sessions",
        "engaged_exit_sessions" = src."engaged_exit_sessions",
        "entry_to_space_view_rate" = src."entry_to_space_view_rate",
        "space_view_to_room_exploration_rate" = src."space_view_to_room_exploration_rate",
        "room_exploration_to_engaged_exit_rate" = src."room_exploration_to_engaged_exit_rate",
        "entry_to_engaged_exit_rate" = src."entry_to_engaged_exit_rate"
    
        when not matched then insert
    
    ("session_date", "entry_sessions", "external_referral_sessions", "space_view_sessions", "room_exploration_sessions", "engaged_exit_sessions", "entry_to_space_view_rate", "space_view_to_room_exploration_rate", "room_exploration_to_engaged_exit_rate", "entry_to_engaged_exit_rate")
    values (src."session_date", src."entry_sessions", src."external_referral_sessions", src."space_view_sessions", src."room_exploration_sessions", src."engaged_exit_sessions", src."entry_to_space_view_rate", src."space_view_to_room_exploration_rate", src."room_exploration_to_engaged_exit_rate", src."entry_to_engaged_exit_rate")