-- Anonymous ids the person's user ids were seen with, in every landed copy
-- (late rows not yet in the marts included).
select anonymous_id from raw.web_events
where user_id in ({{ user_id_list }}) and anonymous_id is not null
union
select anonymous_id from analytics.web_events
where user_id in ({{ user_id_list }}) and anonymous_id is not null
union
select anonymous_id from raw.web_events_backfill_stage
where user_id in ({{ user_id_list }}) and anonymous_id is not null
