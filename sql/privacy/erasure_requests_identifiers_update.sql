-- Keep the ids resolved for a request before its first delete: a re-run after a
-- crash erases the same set even when the rows that led to them are gone.
update raw.erasure_requests
set identifiers = '{{ identifiers_json }}'
where request_id = '{{ request_id }}'
