-- Keep what a request erases on it before its first delete, in one statement so
-- it commits as one: the event and session dates it touches, the rows per table
-- and the archive files holding the person (JSON; no ids: they are in
-- raw.erasure_request_ids). A re-run after a crash uses these, not what the rows
-- left by the first attempt would show.
-- Athena's UPDATE on Iceberg is one transaction:
-- https://docs.aws.amazon.com/athena/latest/ug/update-statement.html
update raw.erasure_requests
set identifiers = '{{ identifiers_json }}'
where request_id = '{{ request_id }}'
