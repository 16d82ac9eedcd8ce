-- Versioned user-agent patterns for bot flagging (rows: sql/bots MERGE).
-- pattern is a lower-case regex for regexp_like(lower(user_agent), pattern): keep it
-- RE2-compatible (no look-around, no back-references) so DuckDB runs it too.
-- Key (pattern_id, version); valid_to is null for the current version.
create table if not exists analytics.bot_user_agent_patterns (
    pattern_id string,
    pattern string,
    category string,
    description string,
    version int,
    valid_from date,
    valid_to date
)
tblproperties ('table_type' = 'iceberg')
