-- Erasure requests (GDPR art. 17), pending until the daily job or `webevents run`
-- applies them (webevents/jobs/forget.py). subject_id is the person's id in clear only
-- while pending: applying a request sets it and identifiers to null, and the audit
-- keeps a keyed hash instead (raw.erasure_audit). identifiers (JSON) holds what the
-- request erases, written in one statement before the first delete: the event and
-- session dates it touches, the rows per table and the archive files holding the
-- person (its ids are in raw.erasure_request_ids); a re-run after a crash uses these
-- (docs/decisions.md D-ERASURE-1). A follow-up request (D-ERASURE-2) has no subject_id
-- and names the request it follows in identifiers.
create table if not exists raw.erasure_requests (
    request_id string,
    subject_kind string,
    subject_id string,
    requested_at timestamp,
    status string,
    identifiers string,
    applied_at timestamp
)
tblproperties ('table_type' = 'iceberg')
