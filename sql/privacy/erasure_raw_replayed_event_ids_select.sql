-- The event ids of the request's stream rows in raw.web_events, read before
-- they are deleted: the local replay bookkeeping marks a replayed record whose
-- row is erased as erased, not as lost (webevents/local/reconcile.py).
select distinct event_id
from raw.web_events
where
    load_source = 'firehose'
    and (
        user_id in ({{ request_user_ids }})
        or anonymous_id in ({{ request_device_ids }})
        or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
    )
