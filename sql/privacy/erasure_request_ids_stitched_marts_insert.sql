-- Anonymous ids the identity model stitched to the person (every range), kept
-- with the request. Ids kept already are skipped, so a re-run adds nothing.
insert into raw.erasure_request_ids (request_id, id_kind, id)
select distinct
    '{{ request_id }}' as request_id,
    'anonymous_id' as id_kind,
    ranges.anonymous_id as id
from marts.dim_identity_ranges as ranges
where
    ranges.user_id in ({{ request_user_ids }})
    and ranges.anonymous_id is not null
    and ranges.anonymous_id not in ({{ request_anonymous_ids }})
