-- Flag bots in analytics.web_events for the window
-- [run_date - lookback_days, run_date]: is_bot = any rule fired, bot_reasons =
-- every rule that fired (sorted). One CTE per rule, thresholds are parameters
-- (defaults below; precision and recall per rule are in docs/bots.md).
-- Behavioural rules judge an actor or a session within one UTC day (the
-- event's event_date), never across the window: every run whose window holds
-- an event gives it the same verdict, whichever run saw it last (a session
-- that crosses midnight is judged per day).
-- Re-running changes nothing: a row is written only when its flags differ.
{%- set max_events_per_minute = max_events_per_minute | default(40) %}
{%- set subsecond_gap_share = subsecond_gap_share | default(0.6) %}
{%- set min_subsecond_events = min_subsecond_events | default(20) %}
{%- set max_pages_per_session = max_pages_per_session | default(60) %}
{%- set min_dwell_seconds = min_dwell_seconds | default(2) %}
{%- set min_no_dwell_sessions = min_no_dwell_sessions | default(5) %}
{%- set no_dwell_share = no_dwell_share | default(0.8) %}
merge into analytics.web_events as target
using (
    with

    window_events as (
        select
            event_id,
            event_date,
            event_timestamp,
            event_type,
            page_url,
            session_id,
            lower(user_agent) as user_agent,
            -- who is behind the traffic: the device id, else the user, else
            -- the address (scrapers often send no ids at all)
            coalesce(anonymous_id, user_id, ip_address) as actor_id,
            is_bot,
            bot_reasons
        from analytics.web_events
        where
            event_date
            between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
            and date '{{ run_date }}'
    ),

    current_patterns as (
        select
            pattern,
            category
        from analytics.bot_user_agent_patterns
        where
            version = (
                select max(versions.version) as newest_version
                from analytics.bot_user_agent_patterns as versions
            )
    ),

    -- Rule ua_<category>: the user agent matches a listed pattern (declared
    -- crawlers, link-preview fetchers, HTTP libraries, headless browsers,
    -- uptime monitors). Matched once per distinct agent, then joined back.
    listed_agents as (
        select distinct
            agents.user_agent,
            'ua_' || current_patterns.category as reason
        from (select distinct user_agent from window_events) as agents
        inner join current_patterns
            on regexp_like(agents.user_agent, current_patterns.pattern)
    ),

    user_agent_rule as (
        select
            window_events.event_id,
            listed_agents.reason
        from window_events
        inner join listed_agents
            on window_events.user_agent = listed_agents.user_agent
    ),

    -- Rule high_event_rate: an actor sends more than max_events_per_minute
    -- events within one clock minute; a person clicking through a tour
    -- does not get near it.
    busy_minutes as (
        select
            actor_id,
            event_date,
            date_trunc('minute', event_timestamp) as busy_minute
        from window_events
        where actor_id is not null
        group by actor_id, event_date, date_trunc('minute', event_timestamp)
        having count(*) > {{ max_events_per_minute }}
    ),

    event_rate_rule as (
        select distinct
            window_events.event_id,
            'high_event_rate' as reason
        from window_events
        inner join busy_minutes
            on
                window_events.actor_id = busy_minutes.actor_id
                and window_events.event_date = busy_minutes.event_date
    ),

    -- Rule sustained_subsecond_gaps: a session of at least
    -- min_subsecond_events events where most gaps between consecutive
    -- events are under a second (machine pacing, not one quick double-click).
    session_gaps as (
        select
            session_id,
            event_date,
            date_diff(
                'millisecond',
                lag(event_timestamp) over (
                    partition by session_id, event_date
                    order by event_timestamp, event_id
                ),
                event_timestamp
            ) as gap_ms
        from window_events
        where session_id is not null
    ),

    subsecond_sessions as (
        select
            session_id,
            event_date
        from session_gaps
        group by session_id, event_date
        having
            count(*) >= {{ min_subsecond_events }}
            -- 1e0/0e0: double; avg over 1.0/0.0 is a decimal(2,1) on Athena,
            -- rounded to one digit (0.65 -> 0.7)
            and avg(case when gap_ms < 1000 then 1e0 else 0e0 end)
            >= {{ subsecond_gap_share }}
    ),

    subsecond_rule as (
        select
            window_events.event_id,
            'sustained_subsecond_gaps' as reason
        from window_events
        inner join subsecond_sessions
            on
                window_events.session_id = subsecond_sessions.session_id
                and window_events.event_date = subsecond_sessions.event_date
    ),

    -- Rule many_pages_per_session: more than max_pages_per_session page
    -- views in one session (people look at a few spaces, not hundreds).
    page_heavy_sessions as (
        select
            session_id,
            event_date
        from window_events
        where session_id is not null and event_type = 'page'
        group by session_id, event_date
        having count(*) > {{ max_pages_per_session }}
    ),

    pages_rule as (
        select
            window_events.event_id,
            'many_pages_per_session' as reason
        from window_events
        inner join page_heavy_sessions
            on
                window_events.session_id = page_heavy_sessions.session_id
                and window_events.event_date = page_heavy_sessions.event_date
    ),

    -- Rule sessions_without_dwell: an actor with at least
    -- min_no_dwell_sessions sessions, nearly all (no_dwell_share) shorter
    -- than min_dwell_seconds: fetch and leave, again and again.
    actor_sessions as (
        select
            actor_id,
            event_date,
            session_id,
            date_diff('second', min(event_timestamp), max(event_timestamp))
                as dwell_seconds
        from window_events
        where actor_id is not null and session_id is not null
        group by actor_id, event_date, session_id
    ),

    no_dwell_actors as (
        select
            actor_id,
            event_date
        from actor_sessions
        group by actor_id, event_date
        having
            count_if(dwell_seconds < {{ min_dwell_seconds }})
            >= {{ min_no_dwell_sessions }}
            and avg(
                case
                    when dwell_seconds < {{ min_dwell_seconds }} then 1e0
                    else 0e0
                end
            ) >= {{ no_dwell_share }}
    ),

    no_dwell_rule as (
        select
            window_events.event_id,
            'sessions_without_dwell' as reason
        from window_events
        inner join no_dwell_actors
            on
                window_events.actor_id = no_dwell_actors.actor_id
                and window_events.event_date = no_dwell_actors.event_date
    ),

    fired as (
        select * from user_agent_rule
        union all
        select * from event_rate_rule
        union all
        select * from subsecond_rule
        union all
        select * from pages_rule
        union all
        select * from no_dwell_rule
    ),

    reasons as (
        select
            event_id,
            array_sort(array_agg(distinct reason)) as bot_reasons
        from fired
        group by event_id
    )

    select
        window_events.event_id,
        window_events.event_date,
        reasons.bot_reasons is not null as is_bot,
        coalesce(reasons.bot_reasons, cast(array[] as array(varchar)))
            as bot_reasons
    from window_events
    left join reasons
        on window_events.event_id = reasons.event_id
    where
        window_events.is_bot is distinct from (reasons.bot_reasons is not null)
        or window_events.bot_reasons is distinct from coalesce(
            reasons.bot_reasons, cast(array[] as array(varchar))
        )
) as incoming
    on
        target.event_id = incoming.event_id
        and target.event_date = incoming.event_date
        and target.event_date
        between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
        and date '{{ run_date }}'
when matched then update set
    is_bot = incoming.is_bot,
    bot_reasons = incoming.bot_reasons,
    processed_timestamp = cast(current_timestamp as timestamp(6))
