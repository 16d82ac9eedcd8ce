-- Event dates of the rows the request erases (the daily marts re-derive them).
select event_date from raw.web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
union
select event_date from analytics.web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
union
select event_date from raw.web_events_backfill_stage
where
    event_date is not null
    and (
        user_id in ({{ request_user_ids }})
        or anonymous_id in ({{ request_device_ids }})
        or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
    )
