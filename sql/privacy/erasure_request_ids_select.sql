-- The ids a request erases (the report counts them; locally they also match
-- the lines of the archive and error-output files to rewrite).
select
    id_kind,
    id
from raw.erasure_request_ids
where request_id = '{{ request_id }}'
order by id_kind, id
