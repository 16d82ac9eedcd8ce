-- Event and session-start dates the person touched in the marts: a session
-- can start the day before its event (daily marts keyed by session date).
select event_date from marts.fct_web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
union
select session_date from marts.fct_sessions
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
