-- Ids no request needs any more: those of dry runs, of requests no longer on
-- file, and of applied requests whose watch has ended (the Firehose error
-- output written before they were applied has expired, so no replay can land
-- the person again: docs/decisions.md D-ERASURE-2).
delete from raw.erasure_request_ids
where request_id in (
        select requests.request_id
        from raw.erasure_requests as requests
        where
            requests.status = 'dry_run'
            or (
                requests.status = 'applied'
                and requests.applied_at < timestamp '{{ watch_ended_before }}'
            )
    )
    or request_id not in (
        select filed.request_id from raw.erasure_requests as filed
    )
