-- Erase the person's identity ranges (and every range of a device asked for
-- directly); another person's ranges on a shared device stay.
delete from marts.dim_identity_ranges
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
