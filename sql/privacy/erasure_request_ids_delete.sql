-- A follow-up request's ids go when it is applied (the request it follows
-- keeps watching with its own).
delete from raw.erasure_request_ids
where request_id = '{{ request_id }}'
