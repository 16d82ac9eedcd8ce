-- Data-quality checks that failed over the run window: events per check and
-- their share of all events in the window (docs/data-quality.md has the rubric).
with window_events as (

    select
        event_id,
        quality_issues
    from analytics.web_events
    where
        event_date
        between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
        and date '{{ run_date }}'

),

issues as (

    select issue.quality_issue
    from window_events
    cross join unnest(window_events.quality_issues) as issue (quality_issue)

)

select
    issues.quality_issue,
    count(*) as events,
    count(*) * 1e0
    / (select count(*) as window_total from window_events) as share_of_events
from issues
group by issues.quality_issue
order by events desc, issues.quality_issue asc
