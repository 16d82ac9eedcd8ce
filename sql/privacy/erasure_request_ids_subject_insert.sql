-- The request's own id: a user_id, or the device (anonymous id) asked for.
-- Skipped when already there, so a re-run adds nothing.
insert into raw.erasure_request_ids (request_id, id_kind, id)
select
    requests.request_id,
    case
        when requests.subject_kind = 'user_id' then 'user_id'
        else 'device_id'
    end as id_kind,
    requests.subject_id as id
from raw.erasure_requests as requests
where
    requests.request_id = '{{ request_id }}'
    and requests.subject_id is not null
    and not exists (
        select 1 as already_there from raw.erasure_request_ids as kept
        where
            kept.request_id = requests.request_id
            and kept.id = requests.subject_id
    )
