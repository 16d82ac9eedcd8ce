-- Close a request: the person's ids leave the table (the audit keeps a hash).
update raw.erasure_requests
set
    status = 'applied',
    subject_id = null,
    identifiers = null,
    applied_at = timestamp '{{ applied_at }}'
where request_id = '{{ request_id }}'
