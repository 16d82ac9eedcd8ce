-- The audit row of an applied request (no personal data: a keyed hash only).
-- A merge on request_id: a run killed after it and before the request is closed
-- writes the same row again, never a second one (Athena's MERGE is one
-- transaction: https://docs.aws.amazon.com/athena/latest/ug/merge-into-statement.html).
merge into raw.erasure_audit as recorded
using (
    select
        '{{ request_id }}' as request_id,
        '{{ subject_kind }}' as subject_kind,
        '{{ subject_hash }}' as subject_hash,
        timestamp '{{ requested_at }}' as requested_at,
        timestamp '{{ applied_at }}' as applied_at,
        '{{ engine }}' as engine,
        {{ identifier_count }} as identifier_count,
        '{{ rows_removed_json }}' as rows_removed,
        '{{ last_copy_gone_json }}' as last_copy_gone,
        date '{{ last_copy_gone_by }}' as last_copy_gone_by,
        '{{ archive_files_json }}' as archive_files
) as applied
    on recorded.request_id = applied.request_id
when matched then
    update
        set
            subject_kind = applied.subject_kind,
            subject_hash = applied.subject_hash,
            requested_at = applied.requested_at,
            applied_at = applied.applied_at,
            engine = applied.engine,
            identifier_count = applied.identifier_count,
            rows_removed = applied.rows_removed,
            last_copy_gone = applied.last_copy_gone,
            last_copy_gone_by = applied.last_copy_gone_by,
            archive_files = applied.archive_files
when not matched then insert (
    request_id,
    subject_kind,
    subject_hash,
    requested_at,
    applied_at,
    engine,
    identifier_count,
    rows_removed,
    last_copy_gone,
    last_copy_gone_by,
    archive_files
)
values (
    applied.request_id,
    applied.subject_kind,
    applied.subject_hash,
    applied.requested_at,
    applied.applied_at,
    applied.engine,
    applied.identifier_count,
    applied.rows_removed,
    applied.last_copy_gone,
    applied.last_copy_gone_by,
    applied.archive_files
)
