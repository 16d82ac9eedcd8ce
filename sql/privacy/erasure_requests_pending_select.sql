-- Requests still to apply, oldest first.
select
    request_id,
    subject_kind,
    subject_id,
    requested_at,
    identifiers
from raw.erasure_requests
where status = 'pending'
order by requested_at, request_id
