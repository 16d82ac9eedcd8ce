-- Applied requests still watched: their ids are kept until the Firehose error
-- output written before they were applied has expired, and a copy of the
-- person's rows that lands again meanwhile (a replay, a backfill re-run,
-- records still buffered in the stream) is erased by a follow-up request
-- (docs/decisions.md D-ERASURE-2). A request whose follow-up is still pending
-- is left to it.
select requests.request_id
from raw.erasure_requests as requests
where
    requests.status = 'applied'
    and requests.applied_at >= timestamp '{{ watch_ended_before }}'
    and exists (
        select 1 as already_there from raw.erasure_request_ids as ids
        where ids.request_id = requests.request_id
    )
    and not exists (
        select 1 as already_there from raw.erasure_requests as follow_ups
        where
            follow_ups.status = 'pending'
            and json_extract_scalar(follow_ups.identifiers, '$.follows')
            = requests.request_id
    )
order by requests.request_id
