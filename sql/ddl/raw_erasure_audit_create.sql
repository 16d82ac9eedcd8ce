-- One row per applied erasure request: a keyed hash of the subject (HMAC-SHA256,
-- never the id), when it was asked and applied, the rows removed per table (JSON
-- object) and, per store, the date its last copy is gone (JSON object; the latest of
-- them in last_copy_gone_by), and the archive files that held the person's lines
-- (JSON array; the archive owner rewrites them). docs/operations.md, "Erasure".
create table if not exists raw.erasure_audit (
    request_id string,
    subject_kind string,
    subject_hash string,
    requested_at timestamp,
    applied_at timestamp,
    engine string,
    identifier_count int,
    rows_removed string,
    last_copy_gone string,
    last_copy_gone_by date,
    archive_files string
)
tblproperties ('table_type' = 'iceberg')
