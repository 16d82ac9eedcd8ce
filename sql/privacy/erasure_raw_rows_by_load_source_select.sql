-- The request's rows in raw.web_events per input kind (load_source), so the
-- local reconciliation can show them as erased, not as lost.
select
    load_source,
    count(*) as erased_rows
from raw.web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
group by load_source
