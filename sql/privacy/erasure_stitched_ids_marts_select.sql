-- Anonymous ids the identity model stitched to the person (every range).
select distinct anonymous_id from marts.dim_identity_ranges
where user_id in ({{ user_id_list }}) and anonymous_id is not null
