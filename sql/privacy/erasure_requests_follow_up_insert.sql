-- File the follow-up of a watched request (pending, no subject id: its ids are
-- the copy just kept; its audit row carries the watched request's subject
-- hash).
insert into raw.erasure_requests (
    request_id, subject_kind, subject_id, requested_at, status, identifiers
)
select
    '{{ follow_up_id }}' as request_id,
    watched.subject_kind,
    cast(null as varchar) as subject_id,
    timestamp '{{ requested_at }}' as requested_at,
    'pending' as status,
    '{"follows": "{{ request_id }}"}' as identifiers
from raw.erasure_requests as watched
where watched.request_id = '{{ request_id }}'
