-- File an erasure request (pending until applied; webevents forget).
insert into raw.erasure_requests (
    request_id, subject_kind, subject_id, requested_at, status
)
values (
    '{{ request_id }}',
    '{{ subject_kind }}',
    {{ subject_id_literal }},
    timestamp '{{ requested_at }}',
    'pending'
)
