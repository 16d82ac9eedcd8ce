-- Archive files that hold the person's lines (parsed or rejected): the local
-- runner rewrites them without those lines, so the backfill stays re-runnable.
select staged.source_file
from raw.web_events_backfill_stage as staged
where
    staged.user_id in ({{ user_id_list }})
    or staged.anonymous_id in ({{ device_id_list }})
    or (
        staged.user_id is null
        and staged.anonymous_id in ({{ anonymous_id_list }})
    )
    or (
        staged.outcome = 'rejected'
        and regexp_like(staged.line, '{{ identifier_pattern }}')
    )
union
select rejects.source_file
from raw.web_events_backfill_rejects as rejects
where regexp_like(rejects.line, '{{ identifier_pattern }}')
