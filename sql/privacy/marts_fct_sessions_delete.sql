-- Erase the person's sessions from marts.fct_sessions (before
-- marts.fct_web_events); dbt re-derives a session that still holds another
-- person's events.
delete from marts.fct_sessions
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
