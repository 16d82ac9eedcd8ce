-- File the requests of the request files read (by request_id, a random uuid:
-- webevents/jobs/forget.py checked every line first) that are not filed yet,
-- so a run killed after this statement and before the files are deleted files
-- nothing twice.
insert into raw.erasure_requests (
    request_id, subject_kind, subject_id, requested_at, status
)
select
    json_extract_scalar(files.line, '$.request_id') as request_id,
    json_extract_scalar(files.line, '$.subject_kind') as subject_kind,
    json_extract_scalar(files.line, '$.subject_id') as subject_id,
    cast(
        json_extract_scalar(files.line, '$.requested_at') as timestamp(6)
    ) as requested_at,
    coalesce(
        json_extract_scalar(files.line, '$.status'), 'pending'
    ) as status
from archive.erasure_request_files as files
where
    json_extract_scalar(files.line, '$.request_id') in ({{ request_id_list }})
    and json_extract_scalar(files.line, '$.request_id') not in (
        select filed.request_id from raw.erasure_requests as filed
    )
