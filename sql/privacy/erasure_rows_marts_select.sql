-- Rows the request erases in the per-event marts; fct_sessions counts the
-- person's sessions (dbt re-derives any that still hold other events).
select
    'marts.fct_web_events' as erased_table,
    count(*) as erased_rows
from marts.fct_web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
union all
select
    'marts.int_session_boundaries' as erased_table,
    count(*) as erased_rows
from marts.int_session_boundaries
where event_id in (
        select person_events.event_id
        from marts.fct_web_events as person_events
        where
            person_events.user_id in ({{ request_user_ids }})
            or person_events.anonymous_id in ({{ request_device_ids }})
            or (
                person_events.user_id is null
                and person_events.anonymous_id in ({{ request_anonymous_ids }})
            )
    )
union all
select
    'marts.fct_sessions' as erased_table,
    count(*) as erased_rows
from marts.fct_sessions
where session_key in (
        select person_events.session_key
        from marts.fct_web_events as person_events
        where
            person_events.user_id in ({{ request_user_ids }})
            or person_events.anonymous_id in ({{ request_device_ids }})
            or (
                person_events.user_id is null
                and person_events.anonymous_id in ({{ request_anonymous_ids }})
            )
    )
union all
select
    'marts.dim_identity_ranges' as erased_table,
    count(*) as erased_rows
from marts.dim_identity_ranges
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
