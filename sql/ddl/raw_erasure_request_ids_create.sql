-- The ids an erasure request erases, one row per id: the subject (user_id, or
-- device_id for an anonymous id asked for) and the anonymous ids stitched to a
-- user. The erasure's statements read them from here by request_id, so no id
-- is ever written into a statement's text: Athena's query history and
-- CloudTrail keep statement texts past the 30-day deadline (docs/decisions.md
-- D-PRIV-6). Rows are filled by INSERT ... SELECT from raw.erasure_requests,
-- which is filled from request files (sql/privacy). They stay while the
-- applied request is watched for copies landing again, then are deleted
-- (D-ERASURE-2).
create table if not exists raw.erasure_request_ids (
    request_id string,
    id_kind string,
    id string
)
tblproperties ('table_type' = 'iceberg')
