{#- Athena: monthly Iceberg partitions, as a day of this mart is only a few rows;
    an identity column (event_month), not month(event_date): Athena's OPTIMIZE filters
    on partition columns only (sql/maintenance, docs/engine-fidelity.md). -#}
{{
    config(
        unique_key=['event_date', 'room_day_key'],
        **webevents.incremental_config(partition_by='event_month')
    )
}}

-- 3D-tour engagement per space, room and day (the architecture guide's
-- spatial_analytics_iceberg): views, dwell time, the architecture guide's exploration
-- levels, where people look (circular mean and spread of yaw, pitch range)
-- and the share of the sphere their views covered given each view's hfov.
-- Events in a space without a room are reported with room_id null.
--
-- Yaw wraps at +-180 degrees, so its mean is the circular mean
-- atan2(avg(sin yaw), avg(cos yaw)); R = |(avg cos, avg sin)| is the mean
-- resultant length (1 = everyone looks the same way, 0 = all around) and
-- sqrt(-2 ln R) the circular standard deviation. Sums of sin and cos are
-- kept so weeks or months roll up exactly from these rows.
--
-- Sphere coverage: a view sees the spherical cap of angular radius hfov/2
-- around (pitch, yaw); the sphere is cut into 10 x 10 degree cells
-- (seed sphere_cells, each with its share of the sphere's area) and a cell
-- counts as seen when its centre lies in some view's cap, i.e.
-- sin p1 sin p2 + cos p1 cos p2 cos(y1 - y2) >= cos(hfov / 2).

with

web_events as (

    select * from {{ ref('fct_web_events') }}

),

sphere_cells as (

    select * from {{ ref('sphere_cells') }}

),

space_events as (

    select
        *,
        {{ dbt.hash(dbt.concat([
            'cast(event_date as varchar)', "'|'",
            'space_id', "'|'",
            "coalesce(room_id, '')",
        ])) }} as room_day_key

    from web_events
    where
        space_id is not null
        {% if is_incremental() %}
            and event_date >= {{ webevents.daily_window_start('event_date') }}
        {% endif %}

),

room_days as (

    select
        room_day_key,
        event_date,
        space_id,
        room_id,
        max(space_name) as space_name,
        max(space_type) as space_type,
        max(room_name) as room_name,
        count(*) as view_count,
        count(distinct session_key) as session_count,
        count(distinct device_key) as device_count,
        coalesce(sum(dwell_seconds), 0) as dwell_seconds,
        sum(
            case
                when spatial_exploration_level = 'high_exploration' then 1
                else 0
            end
        ) as high_exploration_views,
        sum(
            case
                when spatial_exploration_level = 'medium_exploration' then 1
                else 0
            end
        ) as medium_exploration_views,
        sum(
            case
                when spatial_exploration_level = 'low_exploration' then 1
                else 0
            end
        ) as low_exploration_views,
        sum(
            case when spatial_exploration_level = 'no_3d_data' then 1 else 0 end
        ) as no_3d_data_views,
        count(view_yaw) as yaw_view_count,
        sum(sin(radians(view_yaw))) as yaw_sin_sum,
        sum(cos(radians(view_yaw))) as yaw_cos_sum,
        min(view_pitch) as pitch_min,
        max(view_pitch) as pitch_max,
        avg(view_hfov) as hfov_avg

    from space_events
    group by 1, 2, 3, 4

),

-- Testing every view against every cell is the costly step, so the sines and
-- cosines of one side are computed once per view and once per cell, and two
-- cheap necessary conditions skip most pairs before the exact test (the seen
-- cells are the same as when testing every pair): a cell in the cap is at
-- most hfov/2 from the view in pitch and, when the cap holds no pole, at most
-- asin(sin(hfov/2) / cos(pitch)) from it in yaw. Both bounds get 1 degree of
-- slack, far more than the rounding of the exact test.
room_day_numbers as (

    -- small integers, so the distinct over seen cells hashes no long keys
    select
        room_day_key,
        row_number() over (order by room_day_key) as room_day_number

    from room_days

),

views as (

    select
        room_day_numbers.room_day_number,
        space_events.view_pitch,
        mod(mod(space_events.view_yaw, 360) + 540, 360) - 180
            as view_yaw_wrapped,
        sin(radians(space_events.view_pitch)) as pitch_sin,
        cos(radians(space_events.view_pitch)) as pitch_cos,
        radians(space_events.view_yaw) as yaw_radians,
        cos(radians(space_events.view_hfov / 2)) as cap_cos_radius,
        case
            when
                space_events.view_hfov <= 360
                and abs(space_events.view_pitch) <= 90
                then space_events.view_hfov / 2 + 1
        end as pitch_reach_degrees,
        case
            when abs(space_events.view_pitch) + space_events.view_hfov / 2 < 89
                then degrees(
                        asin(
                            sin(radians(space_events.view_hfov / 2))
                            / cos(radians(space_events.view_pitch))
                        )
                    ) + 1
        end as yaw_reach_degrees

    from space_events
    inner join room_day_numbers
        on space_events.room_day_key = room_day_numbers.room_day_key
    where
        space_events.view_pitch is not null
        and space_events.view_yaw is not null
        and space_events.view_hfov > 0

),

cells as (

    select
        cell_id,
        cell_pitch,
        sphere_share,
        mod(mod(cell_yaw, 360) + 540, 360) - 180 as cell_yaw_wrapped,
        sin(radians(cell_pitch)) as pitch_sin,
        cos(radians(cell_pitch)) as pitch_cos,
        radians(cell_yaw) as yaw_radians

    from sphere_cells

),

seen_cells as (

    select distinct
        views.room_day_number,
        cells.cell_id,
        cells.sphere_share

    from views
    cross join cells
    where
        (
            views.pitch_reach_degrees is null
            or abs(cells.cell_pitch - views.view_pitch)
            <= views.pitch_reach_degrees
        )
        and (
            views.yaw_reach_degrees is null
            or least(
                abs(cells.cell_yaw_wrapped - views.view_yaw_wrapped),
                360 - abs(cells.cell_yaw_wrapped - views.view_yaw_wrapped)
            ) <= views.yaw_reach_degrees
        )
        -- the exact test
        and views.pitch_sin * cells.pitch_sin
        + views.pitch_cos * cells.pitch_cos
        * cos(views.yaw_radians - cells.yaw_radians)
        >= views.cap_cos_radius

),

coverage as (

    select
        room_day_numbers.room_day_key,
        sum(seen_cells.sphere_share) as sphere_coverage_share

    from seen_cells
    inner join room_day_numbers
        on seen_cells.room_day_number = room_day_numbers.room_day_number
    group by 1

),

circular as (

    select
        *,
        sqrt(
            power(yaw_sin_sum / nullif(yaw_view_count, 0), 2)
            + power(yaw_cos_sum / nullif(yaw_view_count, 0), 2)
        ) as yaw_mean_resultant_length

    from room_days

),

final as (

    select
        circular.room_day_key,
        circular.event_date,
        circular.space_id,
        circular.space_name,
        circular.space_type,
        circular.room_id,
        circular.room_name,
        circular.view_count,
        circular.session_count,
        circular.device_count,
        circular.dwell_seconds,
        {{ webevents.safe_divide(
            'circular.dwell_seconds', 'circular.view_count'
        ) }} as dwell_seconds_per_view,
        circular.high_exploration_views,
        circular.medium_exploration_views,
        circular.low_exploration_views,
        circular.no_3d_data_views,
        circular.yaw_view_count,
        circular.yaw_sin_sum,
        circular.yaw_cos_sum,
        case
            when circular.yaw_mean_resultant_length > 1e-9
                then degrees(atan2(circular.yaw_sin_sum, circular.yaw_cos_sum))
        end as yaw_circular_mean_degrees,
        circular.yaw_mean_resultant_length,
        case
            when circular.yaw_mean_resultant_length > 1e-9
                then degrees(sqrt(
                        -2 * ln(least(circular.yaw_mean_resultant_length, 1.0))
                    ))
        end as yaw_circular_std_degrees,
        circular.pitch_min,
        circular.pitch_max,
        circular.pitch_max - circular.pitch_min as pitch_range,
        circular.hfov_avg,
        coalesce(coverage.sphere_coverage_share, 0) as sphere_coverage_share,
        cast(date_trunc('month', circular.event_date) as date) as event_month

    from circular
    left join coverage
        on circular.room_day_key = coverage.room_day_key

)

select * from final
