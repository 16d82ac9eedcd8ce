-- Dry runs file their request only to resolve its ids in the tables; their rows
-- go once their ids have (erasure_request_ids_expired_delete.sql runs first).
delete from raw.erasure_requests
where status = 'dry_run'
