-- The audit row of an applied request (no personal data: a keyed hash only).
insert into raw.erasure_audit (
    request_id,
    subject_kind,
    subject_hash,
    requested_at,
    applied_at,
    engine,
    identifier_count,
    rows_removed,
    last_copy_gone,
    last_copy_gone_by
)
values (
    '{{ request_id }}',
    '{{ subject_kind }}',
    '{{ subject_hash }}',
    timestamp '{{ requested_at }}',
    timestamp '{{ applied_at }}',
    '{{ engine }}',
    {{ identifier_count }},
    '{{ rows_removed_json }}',
    '{{ last_copy_gone_json }}',
    date '{{ last_copy_gone_by }}'
)
