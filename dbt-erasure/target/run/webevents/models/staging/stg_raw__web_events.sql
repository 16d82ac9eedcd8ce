
  create or replace view
    "t_test_erasure_on_trino_631a67"."marts"."stg_raw__web_events"
  security definer
  as
    -- Landed records (duplicates included), for landing volume per day.

with

source as (

    select * from "t_test_erasure_on_trino_631a67"."raw"."web_events"

),

renamed as (

    select
        event_id,
        load_source,
        cast(event_timestamp as timestamp(6)) as event_timestamp,
        cast(event_date as date) as event_date,
        cast(received_at as timestamp(6)) as received_at

    from source

)

select * from renamed
  ;
