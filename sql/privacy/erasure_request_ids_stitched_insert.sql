-- Anonymous ids the person's user ids were seen with, in every landed copy
-- (late rows not yet in the marts included), kept with the request. Ids kept
-- already are skipped, so a re-run adds nothing.
insert into raw.erasure_request_ids (request_id, id_kind, id)
select distinct
    '{{ request_id }}' as request_id,
    'anonymous_id' as id_kind,
    stitched.anonymous_id as id
from (
    select anonymous_id from raw.web_events
    where user_id in ({{ request_user_ids }})
    union
    select anonymous_id from analytics.web_events
    where user_id in ({{ request_user_ids }})
    union
    select anonymous_id from raw.web_events_backfill_stage
    where user_id in ({{ request_user_ids }})
) as stitched
where
    stitched.anonymous_id is not null
    and stitched.anonymous_id not in ({{ request_anonymous_ids }})
