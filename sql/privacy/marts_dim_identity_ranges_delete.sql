-- Erase the person's identity ranges (and every range of a device asked for
-- directly); another person's ranges on a shared device stay.
delete from marts.dim_identity_ranges
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
