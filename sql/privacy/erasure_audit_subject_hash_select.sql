-- The subject hash of a watched request's audit row, for its follow-up's.
select subject_hash
from raw.erasure_audit
where request_id = '{{ request_id }}'
