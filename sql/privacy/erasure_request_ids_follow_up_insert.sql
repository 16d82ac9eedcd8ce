-- A follow-up request erases what landed again for a watched request: it gets
-- a copy of the watched request's ids (its own filing row comes next, so a run
-- killed in between leaves only ids no request names, which the next run
-- deletes).
insert into raw.erasure_request_ids (request_id, id_kind, id)
select
    '{{ follow_up_id }}' as request_id,
    ids.id_kind,
    ids.id
from raw.erasure_request_ids as ids
where ids.request_id = '{{ request_id }}'
