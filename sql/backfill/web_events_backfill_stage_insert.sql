-- Normalise one chunk of archive partitions (dt between date_from and date_to)
-- into raw.web_events_backfill_stage: one row per source line with its outcome
-- (ok / rejected / dropped), the reason, and the landing columns.
-- The rules are docs/landing-normalisation.md, the same the Lambda implements;
-- tests/sql/backfill/test_lambda_parity.py proves both give the same row.
-- The archive JSON is scanned exactly once per chunk; the rejects, the landing
-- insert and the load log read this stage (Athena bills bytes scanned).
-- Run web_events_backfill_stage_delete.sql first for the same range.
{#- text(v) of the spec, on the canonical JSON text j of a value:
    a string, trimmed of space/tab/LF/CR, empty -> absent;
    an integer token in the signed 64-bit range -> its digits; else absent. -#}
{%- macro text_value(j) -%}
    case
        when {{ j }} like '"%'
            then nullif(
                regexp_replace(
                    json_extract_scalar({{ j }}, '$'),
                    '^[ \t\n\r]+|[ \t\n\r]+$',
                    ''
                ),
                ''
            )
        when regexp_like({{ j }}, '^-?[0-9]{1,19}$')
            then cast(try_cast({{ j }} as bigint) as varchar)
    end
{%- endmacro -%}
{#- member k of a map(varchar, json) as canonical JSON text: each is computed
    once, as column <map>__<key> of the *_members CTEs (see member_columns) -#}
{%- macro member(m, k) -%}
    {{ m | replace("_map", "") }}__{{ k | lower }}
{%- endmacro -%}
{%- macro member_columns(m, keys) -%}
    {%- for k in keys -%}
        json_format(element_at({{ m }}, '{{ k }}')) as {{ member(m, k) }}
        {{- ",\n        " if not loop.last }}
    {%- endfor -%}
{%- endmacro -%}
{%- set identifier_keys = ["anonymousId", "userId", "sessionId", "appId"] -%}
{%- set payload_keys = ["type", "event", "_id", "messageId", "eventId",
    "timestamp", "originalTimestamp", "sentAt", "receivedAt", "traits"]
    + identifier_keys -%}
{#- the canonical JSON text of _id.$oid in map m -#}
{%- macro object_id(m) -%}
    json_format(json_extract({{ member(m, "_id") }}, '$["$oid"]'))
{%- endmacro -%}
{#- a JSON value as a map when it is an object (null for anything else,
    and for an object with duplicate keys, which cannot be a map) -#}
{%- macro as_map(value) -%}
    try(cast({{ value }} as map(varchar, json)))
{%- endmacro -%}
{#- one coordinate: a JSON number or a numeric string; finite, else null -#}
{%- macro coordinate(j) -%}
    case
        when regexp_like(
                {{ j }}, '^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$'
            )
            then try_cast({{ j }} as double)
        when {{ j }} like '"%'
            and regexp_like(
                regexp_replace(
                    json_extract_scalar({{ j }}, '$'),
                    '^[ \t\n\r]+|[ \t\n\r]+$',
                    ''
                ),
                '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$'
            )
            then try_cast(
                regexp_replace(
                    json_extract_scalar({{ j }}, '$'),
                    '^[ \t\n\r]+|[ \t\n\r]+$',
                    ''
                ) as double
            )
    end
{%- endmacro -%}
{#- §6a: keys never stored (transform_lambda/landing_contract.py DENIED_KEYS) -#}
{%- set denied_keys = "'writeKey', 'write_key', 'apiKey', 'api_key', "
    ~ "'authorization', 'password', 'secret'" -%}
{#- how many deny-listed keys map m has (0 when m is null) -#}
{%- macro denied_count(m) -%}
    coalesce(
        cardinality(filter(map_keys({{ m }}), k -> k in ({{ denied_keys }}))), 0
    )
{%- endmacro -%}
{#- the JSON text of a present value (JSON null is absent) -#}
{%- macro present(j) -%}
    nullif({{ j }}, 'null')
{%- endmacro -%}
{#- a §4 timestamp value (JSON text, $date unwrapped) as epoch microseconds,
    null when it does not parse or lies outside [2000, 2100) -#}
{%- macro unwrap_date(j) -%}
    case
        when substr({{ j }}, 1, 1) = '{'
            and json_extract({{ j }}, '$["$date"]') is not null
            then json_format(json_extract({{ j }}, '$["$date"]'))
        else {{ j }}
    end
{%- endmacro -%}
{%- macro epoch_millis(v) -%}
    case
        when substr({{ v }}, 1, 1) = '{'
            and regexp_like(
                json_extract_scalar({{ v }}, '$["$numberLong"]'),
                '^-?[0-9]{1,19}$'
            )
            then try_cast(
                    json_extract_scalar({{ v }}, '$["$numberLong"]') as bigint
                )
        when regexp_like({{ v }}, '^-?[0-9]+$')
            then try_cast({{ v }} as bigint)
    end
{%- endmacro -%}
{%- macro iso_text(v) -%}
    case
        when {{ v }} like '"%'
            then regexp_replace(
                    json_extract_scalar({{ v }}, '$'),
                    '^[ \t\n\r]+|[ \t\n\r]+$',
                    ''
                )
    end
{%- endmacro -%}
{%- macro iso_micros(t) -%}
    case
        when regexp_like(
                {{ t }},
                '^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]'
                || ':[0-5][0-9](\.[0-9]{1,9})?'
                || '(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$'
            )
            then date_diff(
                    'second',
                    timestamp '1970-01-01 00:00:00',
                    try_cast(
                        substr({{ t }}, 1, 10) || ' ' || substr({{ t }}, 12, 8)
                        as timestamp(6)
                    )
                ) * 1000000
                + cast(
                    substr(
                        rpad(
                            regexp_extract({{ t }}, '^[^.]*\.?([0-9]*)', 1),
                            6,
                            '0'
                        ),
                        1,
                        6
                    ) as bigint
                )
                - case
                    when regexp_like({{ t }}, '[+-][0-9]{2}:[0-9]{2}$')
                        then (
                            case
                                when substr({{ t }}, length({{ t }}) - 5, 1) = '+'
                                    then 1
                                else -1
                            end
                        )
                        * (
                            cast(substr({{ t }}, length({{ t }}) - 4, 2) as bigint)
                            * 60
                            + cast(substr({{ t }}, length({{ t }}) - 1, 2) as bigint)
                        )
                        * 60000000
                    else 0
                end
    end
{%- endmacro -%}
{#- epoch microseconds (bigint, >= 0) as timestamp(6): Trino's date_add stops
    at milliseconds, so the sub-millisecond part comes from a literal's text -#}
{%- macro micros_timestamp(m) -%}
    date_add(
        'millisecond',
        cast(cast({{ m }} as bigint) / 1000 % 86400000 as integer),
        date_add(
            'day',
            cast(cast({{ m }} as bigint) / 86400000000 as integer),
            cast(
                '1970-01-01 00:00:00.'
                || lpad(cast({{ m }} % 1000 as varchar), 6, '0')
                as timestamp(6)
            )
        )
    )
{%- endmacro -%}
{#- §6: a key of the payload (k, its value v) that a column took -#}
{%- macro payload_taken(k, v) -%}
    (
        {{ k }} = 'type'
        and {{ text_value("json_format(" ~ v ~ ")") }} = event_type
        or {{ k }} in ('event', 'name')
        and {{ text_value("json_format(" ~ v ~ ")") }} = event_name
        or {{ k }} in ('messageId', 'eventId')
        and {{ text_value("json_format(" ~ v ~ ")") }} = event_id
        or {{ k }} = '_id' and is_payload_id_taken
        {%- for key, column in [
            ("anonymousId", "anonymous_id"),
            ("userId", "user_id"),
            ("sessionId", "session_id"),
            ("appId", "app_id"),
        ] %}
            or {{ k }} = '{{ key }}'
            and {{ text_value("json_format(" ~ v ~ ")") }} = {{ column }}
    {%- endfor %}
        or {{ k }} = 'properties' and props_map is not null
        or {{ k }} = 'context'
        and {{ as_map("element_at(payload_map, 'context')") }} is not null
        or {{ k }} = 'traits' and payload_traits_map is not null
        or {{ k }} = 'eventTimestamp' and not is_nested
        and {{ present(member("record_map", "eventTimestamp")) }} is not null
        or {{ k }} = 'timestamp'
        and {{ present(member("record_map", "eventTimestamp")) }} is null
        and {{ present(member("payload_map", "timestamp")) }} is not null
        or {{ k }} = 'originalTimestamp' and is_original_in_payload
        and original_micros is not null
        or {{ k }} = 'sentAt' and is_sent_in_payload and sent_micros is not null
    )
{%- endmacro -%}
{#- §6: a key of the record (nested shape) that a column took -#}
{%- macro record_taken(k, v) -%}
    (
        {{ k }} in ('messageId', 'eventId')
        and {{ text_value("json_format(" ~ v ~ ")") }} = event_id
        or {{ k }} = '_id' and is_record_id_taken
        {%- for key, column in [
            ("anonymousId", "anonymous_id"),
            ("userId", "user_id"),
            ("sessionId", "session_id"),
            ("appId", "app_id"),
        ] %}
            or {{ k }} = '{{ key }}'
            and {{ text_value("json_format(" ~ v ~ ")") }} = {{ column }}
    {%- endfor %}
        or {{ k }} = 'context'
        and {{ as_map("element_at(payload_map, 'context')") }} is null
        and {{ as_map("element_at(record_map, 'context')") }} is not null
        or {{ k }} = 'eventTimestamp'
        and {{ present(member("record_map", "eventTimestamp")) }} is not null
        or {{ k }} = 'timestamp'
        and {{ present(member("record_map", "eventTimestamp")) }} is null
        and {{ present(member("payload_map", "timestamp")) }} is null
        and {{ present(member("record_map", "timestamp")) }} is not null
        or {{ k }} = 'originalTimestamp' and not is_original_in_payload
        and original_micros is not null
        or {{ k }} = 'sentAt' and not is_sent_in_payload
        and sent_micros is not null
    )
{%- endmacro -%}
{#- §6b: pseudonymised at landing, like transform_lambda/privacy.py.
    ip_handling: truncate (default) | drop | hash (needs ip_hash_key). -#}
{%- set ip_handling = ip_handling | default('truncate') -%}
{#- Removed from the query of page_url/path/referrer: the environment's list
    (pii_query_parameters, comma-separated, template.yaml PiiQueryParameters;
    webevents/jobs/sql.py checks each name) or else PII_QUERY_PARAMETERS of
    transform_lambda/landing_contract.py (a test keeps the two equal) -#}
{%- set pii_names = (
    pii_query_parameters | default(
        "email,e-mail,token,access_token,auth,password,name,first_name,"
        ~ "last_name,phone,tel", true
    )
).split(",") | map('trim') | map('lower') | unique | list -%}
{%- set pii_names_sql = "'" ~ pii_names | join("', '") ~ "'" -%}
{%- macro query_parts(u) -%}
    split(regexp_extract({{ u }}, '^[^?#]*\?([^#]*)', 1), '&')
{%- endmacro -%}
{%- macro query_kept(u) -%}
    filter(
        {{ query_parts(u) }},
        query_part -> lower(split_part(query_part, '=', 1))
        not in ({{ pii_names_sql }})
    )
{%- endmacro -%}
{%- macro pii_removed(u) -%}
    coalesce(
        cardinality({{ query_parts(u) }}) - cardinality({{ query_kept(u) }}), 0
    )
{%- endmacro -%}
{%- macro without_pii(u) -%}
    case
        when {{ pii_removed(u) }} > 0
            then regexp_extract({{ u }}, '^[^?#]*', 0)
                || case
                    when cardinality({{ query_kept(u) }}) > 0
                        then '?' || array_join({{ query_kept(u) }}, '&')
                    else ''
                end
                || case
                    when strpos({{ u }}, '#') > 0
                        then substr({{ u }}, strpos({{ u }}, '#'))
                    else ''
                end
        else {{ u }}
    end
{%- endmacro -%}
{%- set octet = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])' -%}
{%- set quad = octet ~ '\.' ~ octet ~ '\.' ~ octet ~ '\.' ~ octet -%}
{%- set hextets = '[0-9a-f]{1,4}(:[0-9a-f]{1,4})*' -%}
{#- hextet i (1..8) of the IPv6 text b (a dotted tail already 0:0), with
    nl/nr hextets left/right of '::', leading zeros removed -#}
{%- macro hextet(i) -%}
    regexp_extract(
        case
            when not has_gap then split_part(ip_body, ':', {{ i }})
            when {{ i }} <= gap_left then split_part(
                    split_part(ip_body, '::', 1), ':', {{ i }}
                )
            when {{ i }} <= 8 - gap_right then '0'
            else split_part(
                    split_part(ip_body, '::', 2), ':', {{ i }} - 8 + gap_right
                )
        end,
        '^0*([0-9a-f]+)$',
        1
    )
{%- endmacro -%}
{#- the dotted tail a.b.c.d of an IPv6 text as its two hextets, 'aabb:ccdd' -#}
{%- macro quad_hextets() -%}
    {%- for k in range(1, 5) -%}
        {%- set o = "cast(split_part(regexp_extract(ip_address, '[0-9.]+$', 0), '.', "
            ~ k ~ ") as integer)" -%}
        substr('0123456789abcdef', {{ o }} / 16 + 1, 1)
        || substr('0123456789abcdef', {{ o }} % 16 + 1, 1)
        {{- " || ':' || " if k == 2 else " || " if not loop.last }}
    {%- endfor -%}
{%- endmacro -%}
{#- the third hextet h3 that truncation keeps (h1: the first): all of it in a
    /48; in a 6to4 address (2002::/16), whose hextets 2-3 are a whole IPv4,
    only its first byte (a /40, the IPv4's /24) -#}
{%- macro h3_kept(h1, h3) -%}
    case
        when {{ h1 }} = '2002'
            then regexp_extract(
                    substr(lpad({{ h3 }}, 4, '0'), 1, 2) || '00',
                    '^0*([0-9a-f]+)$',
                    1
                )
        else {{ h3 }}
    end
{%- endmacro -%}
{%- set json_columns = ["properties", "context", "traits", "extra"] -%}
{#- the members whose value is an address, any depth, any ASCII case: the
    IP_MEMBER_NAMES of transform_lambda/landing_contract.py (a test keeps the
    two equal), each as a regex of case classes (`ip` -> `[iI][pP]`) -#}
{%- set ip_member_names = ["ip", "ip_address", "ipaddress", "client_ip",
    "clientip", "remote_ip", "x-forwarded-for", "x-real-ip"] -%}
{%- set ip_names = namespace(patterns=[]) -%}
{%- for name in ip_member_names -%}
    {%- set ip_name = namespace(pattern='') -%}
    {%- for c in name -%}
        {%- set ip_name.pattern = ip_name.pattern
            ~ ('[' ~ c ~ c | upper ~ ']' if c.isalpha() else c) -%}
    {%- endfor -%}
    {%- set ip_names.patterns = ip_names.patterns + [ip_name.pattern] -%}
{%- endfor -%}
{%- set ip_member = ip_names.patterns | join('|') -%}
{#- a JSON string token (the Jinja literal halves each backslash) -#}
{%- set json_string = '"([^"\\\\]|\\\\.)*"' -%}
{#- §6b inside the JSON columns, like scrub_json of transform_lambda/privacy.py:
    the compact JSON text as tokens (an address member with its string, number
    or array-of-strings value; a string, a key when its ':' follows; a number;
    the rest) -#}
{%- macro json_tokens(j) -%}
    regexp_extract_all(
        {{ j }},
        '"({{ ip_member }})":({{ json_string }}|-?[0-9][0-9.eE+-]*'
        || '|\[({{ json_string }}(,{{ json_string }})*)?\])'
        || '|"([^"\\]|\\.)*":?|-?[0-9][0-9.eE+-]*|[^"0-9-]+'
    )
{%- endmacro -%}
{#- whether a JSON text may hold an address member (then it is tokenised) -#}
{%- macro json_has_ip_member(j) -%}
    regexp_like({{ j }}, '"({{ ip_member }})":')
{%- endmacro -%}
{#- whether token t is an address member with its value -#}
{%- macro json_is_ip_member(t) -%}
    regexp_like({{ t }}, '^"({{ ip_member }})":.')
{%- endmacro -%}
{#- an address member token's `"name":` as sent, and its value -#}
{%- macro json_member_name(t) -%}
    substr({{ t }}, 1, strpos({{ t }}, '":') + 1)
{%- endmacro -%}
{%- macro json_member_value(t) -%}
    substr({{ t }}, strpos({{ t }}, '":') + 2)
{%- endmacro -%}
{#- the address texts of a member token t: its string's text, or each string
    element's (null: blank); none for a number -#}
{%- macro json_member_texts(t) -%}
    case
        when {{ json_member_value(t) }} like '"%'
            then array[{{ text_value(json_member_value(t)) }}]
        when {{ json_member_value(t) }} like '[%'
            then transform(
                    regexp_extract_all(
                        {{ json_member_value(t) }}, '{{ json_string }}'
                    ),
                    json_element -> {{ text_value("json_element") }}
                )
        else cast(array[] as array(varchar))
    end
{%- endmacro -%}
{#- the comma-separated parts of an address text s (one, usually), trimmed -#}
{%- macro json_parts(s) -%}
    transform(
        split({{ s }}, ','),
        ip_part -> regexp_replace(ip_part, '^[ \t\n\r]+|[ \t\n\r]+$', '')
    )
{%- endmacro -%}
{#- every part of every address text of a member token t -#}
{%- macro json_member_parts(t) -%}
    flatten(
        transform(
            filter({{ json_member_texts(t) }}, json_text -> json_text is not null),
            json_text -> {{ json_parts("json_text") }}
        )
    )
{%- endmacro -%}
{#- what lands for an address text s, as JSON: the parts that land joined by
    ', ' and quoted; null when none does -#}
{%- macro json_landed_text(s) -%}
    coalesce(
        '"'
        || nullif(
            array_join(
                filter(
                    transform(
                        {{ json_parts(s) }},
                        ip_part -> element_at(
                            json_ip_landed, array_position(json_ip_sent, ip_part)
                        )
                    ),
                    ip_landed -> ip_landed is not null
                ),
                ', '
            ),
            ''
        )
        || '"',
        'null'
    )
{%- endmacro -%}
{#- the IP rule on the json_ip_sent of a row: the CTEs ip_text .. pseudonymised
    below, as expressions of one address text a (a lambda variable) -#}
{%- macro json_ip_body(a) -%}
    case
        when regexp_like(lower({{ a }}), ':{{ quad }}$')
            then regexp_replace(lower({{ a }}), '[0-9.]+$', '0:0')
        else lower({{ a }})
    end
{%- endmacro -%}
{%- macro json_part(a, side) -%}
    coalesce(split_part({{ json_ip_body(a) }}, '::', {{ side }}), '')
{%- endmacro -%}
{%- macro json_gap(a, side) -%}
    case
        when strpos({{ json_ip_body(a) }}, '::') = 0
            or {{ json_part(a, side) }} = ''
            then 0
        else length({{ json_part(a, side) }})
            - length(replace({{ json_part(a, side) }}, ':', '')) + 1
    end
{%- endmacro -%}
{%- macro json_is_ipv6(a) -%}
    not regexp_like({{ a }}, '^{{ quad }}$')
    and regexp_like({{ json_ip_body(a) }}, '^[0-9a-f:]+$')
    and case
        when strpos({{ json_ip_body(a) }}, '::') = 0
            then regexp_like(
                    {{ json_ip_body(a) }}, '^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$'
                )
        else strpos({{ json_ip_body(a) }}, ':::') = 0
            and strpos(
                substr(
                    {{ json_ip_body(a) }}, strpos({{ json_ip_body(a) }}, '::') + 2
                ),
                '::'
            ) = 0
            and regexp_like({{ json_part(a, 1) }}, '^({{ hextets }})?$')
            and regexp_like({{ json_part(a, 2) }}, '^({{ hextets }})?$')
            and {{ json_gap(a, 1) }} + {{ json_gap(a, 2) }} <= 7
    end
{%- endmacro -%}
{%- macro json_hextet(a, i) -%}
    regexp_extract(
        case
            when strpos({{ json_ip_body(a) }}, '::') = 0
                then split_part({{ json_ip_body(a) }}, ':', {{ i }})
            when {{ i }} <= {{ json_gap(a, 1) }}
                then split_part({{ json_part(a, 1) }}, ':', {{ i }})
            when {{ i }} <= 8 - {{ json_gap(a, 2) }} then '0'
            else split_part(
                    {{ json_part(a, 2) }}, ':', {{ i }} - 8 + {{ json_gap(a, 2) }}
                )
        end,
        '^0*([0-9a-f]+)$',
        1
    )
{%- endmacro -%}
{#- a's IPv4 text: a itself, or the dotted tail of a v4-mapped IPv6 (h: a's
    hextets, null when a is no IPv6) -#}
{%- macro json_ipv4(a, h) -%}
    case
        when regexp_like({{ a }}, '^{{ quad }}$') then {{ a }}
        when
            regexp_like(lower({{ a }}), ':{{ quad }}$')
            and array_join(slice({{ h }}, 1, 5), '') = '00000'
            and element_at({{ h }}, 6) = 'ffff'
            then regexp_extract({{ a }}, '[0-9.]+$', 0)
    end
{%- endmacro -%}
{%- macro json_quad_hextets(a) -%}
    {%- for k in range(1, 5) -%}
        {%- set o = "cast(split_part(regexp_extract(" ~ a ~ ", '[0-9.]+$', 0), '.', "
            ~ k ~ ") as integer)" -%}
        substr('0123456789abcdef', {{ o }} / 16 + 1, 1)
        || substr('0123456789abcdef', {{ o }} % 16 + 1, 1)
        {{- " || ':' || " if k == 2 else " || " if not loop.last }}
    {%- endfor -%}
{%- endmacro -%}
{#- what lands for a (h: its hextets): null when dropped or no address -#}
{%- macro json_ip_landed(a, h) -%}
    {#- the setting chosen in SQL, not by a Jinja branch: every line of the
        macro renders, so the linter's template variants stay those above -#}
    case '{{ ip_handling }}'
        when 'drop' then cast(null as varchar)
        when 'hash' then case
                when {{ json_ipv4(a, h) }} is not null or {{ h }} is not null
                    then lower(
                            to_hex(
                                hmac_sha256(
                                    to_utf8(
                                        coalesce(
                                            {{ json_ipv4(a, h) }},
                                            array_join(
                                                transform(
                                                    slice({{ h }}, 1, 6),
                                                    json_x -> lpad(json_x, 4, '0')
                                                ),
                                                ':'
                                            )
                                            || ':'
                                            ||
                                            case
                                                when
                                                    regexp_like(
                                                        lower({{ a }}), ':{{ quad }}$'
                                                    )
                                                    then {{ json_quad_hextets(a) }}
                                                else lpad(element_at({{ h }}, 7), 4, '0')
                                                    || ':'
                                                    || lpad(element_at({{ h }}, 8), 4, '0')
                                            end
                                        )
                                    ),
                                    to_utf8(
                                        '{{ ip_hash_key | default("")
                                            if ip_handling == "hash" else "" }}'
                                    )
                                )
                            )
                        )
            end
        else case
                when {{ json_ipv4(a, h) }} is not null
                    then regexp_replace({{ json_ipv4(a, h) }}, '\.[0-9]+$', '.0')
                when {{ h }} is null then cast(null as varchar)
                when {{ h3_kept("element_at(" ~ h ~ ", 1)",
                    "element_at(" ~ h ~ ", 3)") }} != '0'
                    then element_at({{ h }}, 1) || ':' || element_at({{ h }}, 2)
                        || ':' || {{ h3_kept("element_at(" ~ h ~ ", 1)",
                            "element_at(" ~ h ~ ", 3)") }} || '::'
                when element_at({{ h }}, 2) != '0'
                    then element_at({{ h }}, 1) || ':' || element_at({{ h }}, 2) || '::'
                when element_at({{ h }}, 1) != '0' then element_at({{ h }}, 1) || '::'
                else '::'
            end
    end
{%- endmacro -%}
{#- one token with §6b applied: an address member's value by the IP rule (a
    number: null), a string value without PII parameters -#}
{%- macro json_token_scrubbed(t) -%}
    case
        when {{ json_is_ip_member(t) }}
            and {{ json_member_value(t) }} like '"%'
            and {{ text_value(json_member_value(t)) }} is null
            then {{ t }}
        when {{ json_is_ip_member(t) }} and {{ json_member_value(t) }} like '"%'
            then {{ json_member_name(t) }}
                || {{ json_landed_text(text_value(json_member_value(t))) }}
        when {{ json_is_ip_member(t) }} and {{ json_member_value(t) }} like '[%'
            then {{ json_member_name(t) }} || '['
                || array_join(
                    transform(
                        regexp_extract_all(
                            {{ json_member_value(t) }}, '{{ json_string }}'
                        ),
                        json_element -> case
                            when {{ text_value("json_element") }} is null
                                then json_element
                            else {{ json_landed_text(text_value("json_element")) }}
                        end
                    ),
                    ','
                )
                || ']'
        when {{ json_is_ip_member(t) }} then {{ json_member_name(t) }} || 'null'
        when {{ t }} like '"%"' and strpos({{ t }}, '?') > 0
            then '"'
                || {{ without_pii("substr(" ~ t ~ ", 2, length(" ~ t ~ ") - 2)") }}
                || '"'
        else {{ t }}
    end
{%- endmacro -%}
{%- macro json_scrubbed(j) -%}
    case
        when strpos({{ j }}, '?') > 0 or {{ json_has_ip_member(j) }}
            then array_join(
                    transform(
                        {{ json_tokens(j) }},
                        json_token -> {{ json_token_scrubbed("json_token") }}
                    ),
                    ''
                )
        else {{ j }}
    end
{%- endmacro -%}
{#- how many removals json_scrubbed makes: a number, each part that is no
    address, and PII parameters -#}
{%- macro json_removed(j) -%}
    case
        when strpos({{ j }}, '?') > 0 or {{ json_has_ip_member(j) }}
            then cardinality(
                    flatten(
                        transform(
                            filter(
                                {{ json_tokens(j) }},
                                json_token -> {{ json_is_ip_member("json_token") }}
                            ),
                            json_token -> case
                                when {{ json_member_value("json_token") }} like '"%'
                                    or {{ json_member_value("json_token") }} like '[%'
                                    then filter(
                                            {{ json_member_parts("json_token") }},
                                            ip_part -> not element_at(
                                                json_ip_valid,
                                                array_position(json_ip_sent, ip_part)
                                            )
                                        )
                                else array['a number']
                            end
                        )
                    )
                )
                + cardinality(
                    filter(
                        flatten(
                            transform(
                                filter(
                                    {{ json_tokens(j) }},
                                    json_token -> json_token like '"%"'
                                    and strpos(json_token, '?') > 0
                                    and not {{ json_is_ip_member("json_token") }}
                                ),
                                json_token -> coalesce(
                                    {{ query_parts(
                                        "substr(json_token, 2, length(json_token) - 2)"
                                    ) }},
                                    cast(array[] as array(varchar))
                                )
                            )
                        ),
                        query_part -> lower(split_part(query_part, '=', 1))
                        in ({{ pii_names_sql }})
                    )
                )
        else 0
    end
{%- endmacro -%}
{#- P1 = an empty group; Pk = a group of zero or more P(k-1):
    Pk matches exactly the groups nested at most k deep -#}
{%- set depth = namespace(pattern='[\\[{][\\]}]') -%}
{%- for _ in range(63) -%}
    {%- set depth.pattern = '[\\[{](' ~ depth.pattern ~ ')*[\\]}]' -%}
{%- endfor -%}
{%- set depth_64_pattern = depth.pattern %}
insert into raw.web_events_backfill_stage (
    archive_date,
    source_file,
    outcome,
    reason,
    line,
    event_id,
    event_timestamp,
    event_date,
    event_type,
    event_name,
    anonymous_id,
    user_id,
    session_id,
    app_id,
    page_url,
    page_path,
    page_referrer,
    user_agent,
    ip_address,
    space_id,
    space_name,
    space_type,
    room_id,
    room_name,
    community,
    building,
    floorplan,
    coordinates,
    properties,
    source_format,
    context,
    traits,
    extra,
    utm_source,
    utm_medium,
    utm_campaign,
    utm_term,
    utm_content,
    locale,
    sent_at,
    original_timestamp,
    redacted_field_count
)

with

archive_lines as (
    select
        cast(dt as date) as archive_date,
        "$path" as source_file,
        line
    from archive.web_events_archive
    where dt between '{{ date_from }}' and '{{ date_to }}'
),

trimmed as (
    select
        archive_date,
        source_file,
        line,
        -- the spec's whitespace is exactly space, tab, LF, CR (a CRLF file
        -- leaves a CR at the end of each line)
        regexp_replace(line, '^[ \t\n\r]+|[ \t\n\r]+$', '') as record_text,
        length(to_utf8(line)) as line_bytes
    from archive_lines
),

-- Strict RFC 8259: DuckDB and Jackson each accept some non-JSON (NaN,
-- trailing commas, lone surrogate escapes, 1e400); the Lambda's parser does
-- not. These checks look at the text outside string literals, and run only
-- when a cheap pre-filter says the line could be affected. A value (nan,
-- inf, infinity in any case, as DuckDB reads them; a 3-digit exponent)
-- follows a ':', ',', '[' or the start of the text, so the pre-filter does
-- not fire on ids and hashes that merely contain e123.
json_checked as (
    select
        *,
        try(json_parse(record_text)) is not null as is_json,
        substr(record_text, 1, 1) = '{' as is_object_text,
        case
            when regexp_like(
                    record_text,
                    'NaN|Infinity|,[ \t\n\r]*[\]}]|\\u[dD][89a-fA-F]'
                    || '|[0-9]{309}|(^|[:,\[])[ \t\n\r]*-?'
                    || '([nN][aA][nN]|[iI][nN][fF]'
                    || '|[0-9]+(\.[0-9]+)?[eE]\+?[0-9]{3})'
                )
                then regexp_replace(
                        -- escaped backslashes first: "\\ud800" is no escape
                        regexp_replace(record_text, '\\\\', ''),
                        '"[^"\\]*(\\.[^"\\]*)*"',
                        '""'
                    )
        end as text_outside_strings,
        case
            when regexp_like(record_text, '\\u[dD][89a-fA-F]')
                then regexp_replace(
                        regexp_replace(record_text, '\\\\', ''),
                        '\\u[dD][89abAB][0-9a-fA-F]{2}'
                        || '\\u[dD][c-fC-F][0-9a-fA-F]{2}',
                        ''
                    )
        end as text_without_surrogate_pairs,
        -- depth > 64 needs at least 65 opening brackets
        length(record_text)
        - length(replace(replace(record_text, '{', ''), '[', ''))
            as opening_brackets
    from trimmed
),

json_strict as (
    select
        *,
        coalesce(
            -- letters outside strings other than true/false/null and an
            -- exponent's e: NaN, Infinity, ...
            regexp_like(
                regexp_replace(text_outside_strings, 'true|false|null', ''),
                '[A-DF-Za-df-z]'
            )
            or regexp_like(text_outside_strings, ',[ \t\n\r]*[\]}]')
            or cardinality(
                filter(
                    regexp_extract_all(
                        text_outside_strings,
                        '-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?'
                    ),
                    number_token -> not coalesce(
                        is_finite(try_cast(number_token as double)), false
                    )
                )
            ) > 0,
            false
        )
        or coalesce(
            regexp_like(
                text_without_surrogate_pairs, '\\u[dD][89a-fA-F][0-9a-fA-F]{2}'
            ),
            false
        ) as is_non_strict_json,
        -- nesting depth: the pattern matches any bracket group nested at
        -- most 64 deep, so whatever it leaves behind was nested deeper
        case
            when opening_brackets > 64
                then length(
                        regexp_replace(
                            regexp_replace(
                                regexp_replace(
                                    regexp_replace(record_text, '\\\\', ''),
                                    '"[^"\\]*(\\.[^"\\]*)*"',
                                    ''
                                ),
                                '[^\[\]{}]',
                                ''
                            ),
                            '{{ depth_64_pattern }}',
                            ''
                        )
                    ) > 0
            else false
        end as is_too_deep
    from json_checked
),

records as (
    select
        *,
        case
            when is_json and is_object_text
                then {{ as_map("json_parse(record_text)") }}
        end as record_map
    from json_strict
),

record_members as (
    select
        *,
        {{ member_columns(
            "record_map", payload_keys + ["eventData", "metadata", "eventTimestamp"]
        ) }}
    from records
),

-- Shape: nested when eventData is an object, legacy when type or event is a
-- string; payload, meta, context and properties as maps.
shaped as (
    select
        *,
        coalesce(substr(record__eventdata, 1, 1) = '{', false) as is_nested,
        coalesce(record__type like '"%', false)
        or coalesce(record__event like '"%', false) as has_legacy_type,
        case
            when substr(record__eventdata, 1, 1) = '{'
                then {{ as_map("element_at(record_map, 'eventData')") }}
            else record_map
        end as payload_map,
        {{ as_map("element_at(record_map, 'metadata')") }} as meta_map
    from record_members
),

payload_members as (
    select
        *,
        {{ member_columns(
            "payload_map", payload_keys + ["name", "context", "properties"]
        ) }},
        {{ member_columns("meta_map", identifier_keys + ["userAgent", "ip"]) }}
    from shaped
),

with_context as (
    select
        *,
        coalesce(
            {{ as_map("element_at(payload_map, 'context')") }},
            {{ as_map("element_at(record_map, 'context')") }}
        ) as context_map,
        {{ as_map("element_at(payload_map, 'properties')") }} as props_map
    from payload_members
),

context_members as (
    select
        *,
        {{ member_columns(
            "context_map", identifier_keys + ["userAgent", "ip", "locale"]
        ) }},
        {{ member_columns("props_map", [
            "url", "path", "referrer", "spaceId", "spaceName", "spaceType",
            "roomId", "roomName", "community", "building", "floorplan",
        ]) }}
    from with_context
),

with_page as (
    select
        *,
        {{ as_map("element_at(context_map, 'page')") }} as page_map,
        {{ as_map("element_at(context_map, 'campaign')") }} as campaign_map,
        {{ as_map("element_at(payload_map, 'traits')") }} as payload_traits_map,
        {{ as_map("element_at(context_map, 'traits')") }} as context_traits_map,
        {{ as_map("element_at(props_map, 'coordinates')") }}
            as coordinates_map,
        -- an object that is not a map has duplicate keys: parsers disagree
        -- on which value wins, so the line is rejected as invalid JSON
        coalesce(
            substr(record__eventdata, 1, 1) = '{' and payload_map is null
            or substr(record__metadata, 1, 1) = '{' and meta_map is null
            or substr(payload__context, 1, 1) = '{' and context_map is null
            or substr(payload__properties, 1, 1) = '{' and props_map is null,
            false
        ) as has_duplicate_keys
    from context_members
),

page_members as (
    select
        *,
        -- the same for the objects §6 takes whole or keeps whole
        coalesce(
            substr(
                json_format(element_at(context_map, 'page')), 1, 1
            ) = '{' and page_map is null
            or substr(
                json_format(element_at(context_map, 'campaign')), 1, 1
            ) = '{' and campaign_map is null
            or substr(payload__traits, 1, 1) = '{'
            and payload_traits_map is null
            or substr(
                json_format(element_at(context_map, 'traits')), 1, 1
            ) = '{' and context_traits_map is null,
            false
        ) as has_duplicate_keys_inside,
        {{ member_columns("page_map", ["url", "path", "referrer"]) }},
        {{ member_columns(
            "campaign_map", ["source", "medium", "name", "term", "content"]
        ) }},
        {{ member_columns("coordinates_map", ["pitch", "yaw", "hfov"]) }}
    from with_page
),

-- The event timestamp: the first present candidate, unwrapped from $date.
timestamp_candidates as (
    select
        *,
        coalesce(
            nullif({{ member("record_map", "eventTimestamp") }}, 'null'),
            nullif({{ member("payload_map", "timestamp") }}, 'null'),
            nullif({{ member("record_map", "timestamp") }}, 'null'),
            nullif({{ member("payload_map", "originalTimestamp") }}, 'null'),
            nullif({{ member("record_map", "originalTimestamp") }}, 'null'),
            nullif({{ member("payload_map", "sentAt") }}, 'null'),
            nullif({{ member("record_map", "sentAt") }}, 'null')
        ) as timestamp_json
    from page_members
),

timestamp_values as (
    select
        *,
        case
            when substr(timestamp_json, 1, 1) = '{'
                and json_extract(timestamp_json, '$["$date"]') is not null
                then json_format(json_extract(timestamp_json, '$["$date"]'))
            else timestamp_json
        end as timestamp_value
    from timestamp_candidates
),

timestamp_parts as (
    select
        *,
        case
            when substr(timestamp_value, 1, 1) = '{'
                and regexp_like(
                    json_extract_scalar(timestamp_value, '$["$numberLong"]'),
                    '^-?[0-9]{1,19}$'
                )
                then try_cast(
                        json_extract_scalar(timestamp_value, '$["$numberLong"]')
                        as bigint
                    )
            when regexp_like(timestamp_value, '^-?[0-9]+$')
                then try_cast(timestamp_value as bigint)
        end as epoch_millis,
        case
            when timestamp_value like '"%'
                then regexp_replace(
                        json_extract_scalar(timestamp_value, '$'),
                        '^[ \t\n\r]+|[ \t\n\r]+$',
                        ''
                    )
        end as timestamp_text
    from timestamp_values
),

iso_parts as (
    select
        *,
        regexp_like(
            timestamp_text,
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'
            || '(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})?$'
        ) as is_iso_text,
        substr(timestamp_text, 1, 10) as iso_date,
        try_cast(substr(timestamp_text, 12, 2) as integer) as iso_hour,
        try_cast(substr(timestamp_text, 15, 2) as integer) as iso_minute,
        try_cast(substr(timestamp_text, 18, 2) as integer) as iso_second,
        regexp_extract(timestamp_text, '\.([0-9]{1,9})', 1) as iso_fraction,
        regexp_extract(timestamp_text, '([+-])([0-9]{2}):([0-9]{2})$', 1)
            as offset_sign,
        regexp_extract(timestamp_text, '([+-])([0-9]{2}):([0-9]{2})$', 2)
            as offset_hours,
        regexp_extract(timestamp_text, '([+-])([0-9]{2}):([0-9]{2})$', 3)
            as offset_minutes
    from timestamp_parts
),

timestamps as (
    select
        *,
        case
            -- epoch millis outside 2000-01-01 .. 2100-01-01 are rejected
            -- before the addition, so a huge number cannot overflow it
            -- Trino's date_add takes an int32 amount: add whole days, then
            -- the milliseconds of the day (both fit for 2000..2100); the
            -- bigint cast spells out an integer division, so the local
            -- engine need not type the whole statement to see it
            when epoch_millis between 946684800000 and 4102444799999
                then date_add(
                        'millisecond',
                        cast(epoch_millis % 86400000 as integer),
                        date_add(
                            'day',
                            cast(
                                cast(epoch_millis as bigint) / 86400000
                                as integer
                            ),
                            timestamp '1970-01-01 00:00:00.000000'
                        )
                    )
            when is_iso_text
                and iso_hour <= 23 and iso_minute <= 59 and iso_second <= 59
                and coalesce(try_cast(offset_hours as integer), 0) <= 23
                and coalesce(try_cast(offset_minutes as integer), 0) <= 59
                then date_add(
                        'minute',
                        case when offset_sign = '+' then -1 else 1 end
                        * (
                            coalesce(try_cast(offset_hours as integer), 0) * 60
                            + coalesce(try_cast(offset_minutes as integer), 0)
                        ),
                        try_cast(
                            iso_date
                            || ' '
                            || substr(timestamp_text, 12, 8)
                            || '.'
                            -- truncated, never rounded, to microseconds
                            || substr(
                                rpad(coalesce(iso_fraction, ''), 6, '0'), 1, 6
                            )
                            as timestamp(6)
                        )
                    )
        end as parsed_timestamp
    from iso_parts
),

-- Every column's value, by the spec's first(...) lookups.
columns as (
    select
        *,
        coalesce(
            {{ text_value(object_id("payload_map")) }},
            {{ text_value(object_id("record_map")) }},
            {{ text_value(member("payload_map", "messageId")) }},
            {{ text_value(member("record_map", "messageId")) }},
            {{ text_value(member("payload_map", "eventId")) }},
            {{ text_value(member("record_map", "eventId")) }},
            'h' || lower(to_hex(sha256(to_utf8(record_text))))
        ) as event_id,
        case
            when parsed_timestamp >= timestamp '2000-01-01 00:00:00'
                and parsed_timestamp < timestamp '2100-01-01 00:00:00'
                then cast(parsed_timestamp as timestamp(6))
        end as event_timestamp,
        coalesce(
            lower({{ text_value(member("payload_map", "type")) }}),
            case
                when
                    {{ text_value(member("payload_map", "event")) }} is not null
                    then 'track'
            end
        ) as event_type,
        {%- for column, key in [
            ("anonymous_id", "anonymousId"),
            ("user_id", "userId"),
            ("session_id", "sessionId"),
            ("app_id", "appId"),
        ] %}
            coalesce(
                {{ text_value(member("payload_map", key)) }},
                {{ text_value(member("meta_map", key)) }},
                {{ text_value(member("record_map", key)) }},
                {{ text_value(member("context_map", key)) }}
            ) as {{ column }},
        {%- endfor %}
        coalesce(
            {{ text_value(member("props_map", "url")) }},
            {{ text_value(member("page_map", "url")) }}
        ) as page_url,
        coalesce(
            {{ text_value(member("props_map", "path")) }},
            {{ text_value(member("page_map", "path")) }}
        ) as page_path_given,
        coalesce(
            {{ text_value(member("props_map", "referrer")) }},
            {{ text_value(member("page_map", "referrer")) }}
        ) as page_referrer,
        coalesce(
            {{ text_value(member("context_map", "userAgent")) }},
            {{ text_value(member("meta_map", "userAgent")) }}
        ) as user_agent,
        coalesce(
            {{ text_value(member("context_map", "ip")) }},
            {{ text_value(member("meta_map", "ip")) }}
        ) as ip_address,
        {%- for column, key in [
            ("space_id", "spaceId"),
            ("space_name", "spaceName"),
            ("space_type", "spaceType"),
            ("room_id", "roomId"),
            ("room_name", "roomName"),
            ("community", "community"),
            ("building", "building"),
            ("floorplan", "floorplan"),
        ] %}
            {{ text_value(member("props_map", key)) }} as {{ column }},
        {%- endfor %}
        {{ coordinate(member("coordinates_map", "pitch")) }} as pitch,
        {{ coordinate(member("coordinates_map", "yaw")) }} as yaw,
        {{ coordinate(member("coordinates_map", "hfov")) }} as hfov
    from timestamps
),

finished as (
    select
        *,
        coalesce(
            {{ text_value(member("payload_map", "event")) }},
            {{ text_value(member("payload_map", "name")) }},
            event_type
        ) as event_name,
        coalesce(
            page_path_given,
            case
                when regexp_like(
                        page_url,
                        '^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?/'
                    )
                    then regexp_extract(
                            page_url,
                            '^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?(/[^?#]*)',
                            2
                        )
            end
        ) as page_path,
        case
            when is_finite(pitch) or is_finite(yaw) or is_finite(hfov)
                then cast(
                        row(
                            case when is_finite(pitch) then pitch end,
                            case when is_finite(yaw) then yaw end,
                            case when is_finite(hfov) then hfov end
                        ) as row (pitch double, yaw double, hfov double)
                    )
        end as coordinates,
        -- §6: the object is taken whole only when the column holds every
        -- member (each one of the three, each finite), else kept whole
        coalesce(
            cardinality(map_keys(coordinates_map))
            = if(is_finite(pitch), 1, 0)
            + if(is_finite(yaw), 1, 0)
            + if(is_finite(hfov), 1, 0),
            false
        ) as coordinates_taken
    from columns
),

-- properties = the properties object minus the keys a column consumed
with_properties as (
    select
        *,
        coalesce(
            json_format(
                cast(
                    map_filter(
                        props_map,
                        (property_key, property_value) -> not (
                            property_key in ({{ denied_keys }})
                            or property_key in (
                                'url', 'path', 'referrer', 'spaceId',
                                'spaceName', 'spaceType', 'roomId',
                                'roomName', 'community', 'building',
                                'floorplan'
                            )
                            and {{ text_value("json_format(property_value)") }}
                            is not null
                            or property_key = 'coordinates'
                            and coordinates_taken
                        )
                    ) as json
                )
            ),
            '{}'
        ) as properties
    from finished
),

-- §4a: the producer's clock. originalTimestamp and sentAt (the first present
-- of payload, record) and receivedAt, as epoch microseconds.
clock_values as (
    select
        *,
        {{ present(member("record_map", "eventTimestamp")) }} is null
        and {{ present(member("payload_map", "timestamp")) }} is null
        and {{ present(member("record_map", "timestamp")) }} is null
            as is_original_chosen,
        {{ present(member("payload_map", "originalTimestamp")) }} is not null
            as is_original_in_payload,
        {{ present(member("payload_map", "sentAt")) }} is not null
            as is_sent_in_payload,
        {%- for name, key in [
            ("original", "originalTimestamp"),
            ("sent", "sentAt"),
            ("arrival", "receivedAt"),
        ] %}
            {{ unwrap_date(
                "coalesce("
                ~ present(member("payload_map", key)) ~ ", "
                ~ present(member("record_map", key)) ~ ")"
            ) }} as {{ name }}_value{{ "," if not loop.last }}
    {%- endfor %}
    from with_properties
),

clock_parts as (
    select
        *,
    {%- for name in ["original", "sent", "arrival"] %}
        {{ epoch_millis(name ~ "_value") }} as {{ name }}_millis,
        {{ iso_text(name ~ "_value") }} as {{ name }}_text
        {{- "," if not loop.last }}
    {%- endfor %}
    from clock_values
),

clock_micros as (
    select
        *,
    {%- for name in ["original", "sent", "arrival"] %}
        case
            when {{ name }}_millis between 946684800000 and 4102444799999
                then {{ name }}_millis * 1000
            when {{ name }}_millis is null
                and {{ iso_micros(name ~ "_text") }}
                between 946684800000000 and 4102444799999999
                then {{ iso_micros(name ~ "_text") }}
        end as {{ name }}_micros{{ "," if not loop.last }}
    {%- endfor %}
    from clock_parts
),

-- Segment's correction: timestamp = receivedAt - (sentAt - originalTimestamp),
-- only when originalTimestamp chose the event time. The archive has no
-- arrival time: the record's own receivedAt (a relay's clock) is the only one.
corrected as (
    select
        *,
        case
            when is_original_chosen
                and sent_micros is not null
                and arrival_micros is not null
                then arrival_micros - (sent_micros - original_micros)
        end as corrected_micros
    from clock_micros
),

-- §3a and §6: campaign, locale, and what no column took, as JSON columns.
promoted as (
    select
        *,
        {%- for key, column in [
            ("source", "utm_source"),
            ("medium", "utm_medium"),
            ("name", "utm_campaign"),
            ("term", "utm_term"),
            ("content", "utm_content"),
        ] %}
            coalesce(
                {{ text_value(member("campaign_map", key)) }},
                nullif(
                    regexp_replace(
                        regexp_extract(
                            page_url,
                            '^[^?#]*\?([^#]*&)?{{ column }}=([^&#]*)',
                            2
                        ),
                        '^[ \t\n\r]+|[ \t\n\r]+$',
                        ''
                    ),
                    ''
                )
            ) as {{ column }},
        {%- endfor %}
        {{ text_value(member("context_map", "locale")) }} as locale,
        payload_traits_map is null and context_traits_map is not null
            as is_traits_from_context,
            -- _id is taken when it is exactly {"$oid": <the event_id>}
        {%- for m, flag in [
            ("payload_map", "is_payload_id_taken"),
            ("record_map", "is_record_id_taken"),
        ] %}
            coalesce(
                cardinality(
                    map_keys({{ as_map("element_at(" ~ m ~ ", '_id')") }})
                ) = 1
                and {{ text_value(object_id(m)) }} = event_id,
                false
            ) as {{ flag }},
        {%- endfor %}
        coalesce(payload_traits_map, context_traits_map) as traits_map,
        case
            when corrected_micros between 946684800000000 and 4102444799999999
                then {{ micros_timestamp("corrected_micros") }}
            else event_timestamp
        end as landed_timestamp
    from corrected
),

-- page and campaign go whole when a column took every member, else stay whole
taken_objects as (
    select
        *,
        cardinality(
            map_keys(
                map_filter(
                    page_map,
                    (k, v) -> not coalesce(
                        k = 'url'
                        and {{ text_value("json_format(v)") }} = page_url
                        or k = 'path'
                        and {{ text_value("json_format(v)") }} = page_path
                        or k = 'referrer'
                        and {{ text_value("json_format(v)") }} = page_referrer,
                        false
                    )
                )
            )
        ) = 0 as is_page_taken,
        cardinality(
            map_keys(
                map_filter(
                    campaign_map,
                    (k, v) -> not coalesce(
                        k in ('source', 'medium', 'name', 'term', 'content')
                        and {{ text_value("json_format(v)") }} is not null,
                        false
                    )
                )
            )
        ) = 0 as is_campaign_taken,
        case
            when is_nested then map_filter(
                    payload_map,
                    (k, v) -> not coalesce(
                        k in ({{ denied_keys }})
                        or {{ payload_taken("k", "v") }},
                        false
                    )
                )
        end as event_data_left,
        map_filter(
            meta_map,
            (k, v) -> not coalesce(
                k in ({{ denied_keys }})
                {%- for key, column in [
                    ("anonymousId", "anonymous_id"),
                    ("userId", "user_id"),
                    ("sessionId", "session_id"),
                    ("appId", "app_id"),
                    ("userAgent", "user_agent"),
                    ("ip", "ip_address"),
                ] %}
                    or k = '{{ key }}'
                    and {{ text_value("json_format(v)") }} = {{ column }}
                {%- endfor %},
                false
            )
        ) as metadata_left
    from promoted
),

kept as (
    select
        *,
        coalesce(
            json_format(
                cast(
                    map_filter(
                        context_map,
                        (k, v) -> not coalesce(
                            k in ({{ denied_keys }})
                            {%- for key, column in [
                                ("anonymousId", "anonymous_id"),
                                ("userId", "user_id"),
                                ("sessionId", "session_id"),
                                ("appId", "app_id"),
                                ("userAgent", "user_agent"),
                                ("ip", "ip_address"),
                                ("locale", "locale"),
                            ] %}
                                or k = '{{ key }}'
                                and {{ text_value("json_format(v)") }}
                                = {{ column }}
                            {%- endfor %}
                            or k = 'page' and is_page_taken
                            or k = 'campaign' and is_campaign_taken
                            or k = 'traits' and is_traits_from_context,
                            false
                        )
                    ) as json
                )
            ),
            '{}'
        ) as context,
        coalesce(
            json_format(
                cast(
                    map_filter(
                        traits_map, (k, v) -> k not in ({{ denied_keys }})
                    ) as json
                )
            ),
            '{}'
        ) as traits,
        json_format(
            cast(
                map_concat(
                    map_filter(
                        record_map,
                        (k, v) -> not coalesce(
                            k in ({{ denied_keys }})
                            or k = 'metadata' and meta_map is not null
                            or is_nested and (
                                k = 'eventData'
                                or {{ record_taken("k", "v") }}
                            )
                            or not is_nested and {{ payload_taken("k", "v") }},
                            false
                        )
                    ),
                    map_filter(
                        map(
                            array['eventData', 'metadata'],
                            array[
                                case
                                    when cardinality(map_keys(event_data_left))
                                        > 0
                                        then cast(event_data_left as json)
                                end,
                                case
                                    when cardinality(map_keys(metadata_left))
                                        > 0
                                        then cast(metadata_left as json)
                                end
                            ]
                        ),
                        (k, v) -> v is not null
                    )
                ) as json
            )
        ) as extra,
        {{ denied_count("record_map") }}
        + case when is_nested then {{ denied_count("payload_map") }} else 0 end
        + {{ denied_count("meta_map") }}
        + {{ denied_count("context_map") }}
        + {{ denied_count("traits_map") }}
        + {{ denied_count("props_map") }} as redacted_field_count
    from taken_objects
),

-- §6b: pseudonymised last, like the Lambda: the rules above read the values
-- as sent (utm_* from the query; a context key a column took leaves context).
-- The addresses in address members inside the JSON columns (each part of a
-- comma-separated list), each once per row
json_ips as (
    select
        *,
        filter(
            array_distinct(
                {%- for column in json_columns %}
                    flatten(
                        transform(
                            filter(
                                case
                                    when {{ json_has_ip_member(column) }}
                                        then {{ json_tokens(column) }}
                                    else cast(array[] as array(varchar))
                                end,
                                json_m -> {{ json_is_ip_member("json_m") }}
                            ),
                            json_m -> {{ json_member_parts("json_m") }}
                        )
                    )
                    {{- " ||" if not loop.last }}
                {%- endfor %}
            ),
            json_ip -> json_ip is not null
        ) as json_ip_sent
    from kept
),

json_ip_hextets as (
    select
        *,
        transform(
            json_ip_sent,
            json_ip -> case
                when {{ json_is_ipv6("json_ip") }}
                    then transform(
                            sequence(1, 8),
                            json_i -> {{ json_hextet("json_ip", "json_i") }}
                        )
            end
        ) as json_ip_hexes
    from json_ips
),

json_ip_pseudonymised as (
    select
        *,
        transform(
            sequence(1, greatest(cardinality(json_ip_sent), 1)),
            json_k -> {{ json_ip_landed(
                "element_at(json_ip_sent, json_k)",
                "element_at(json_ip_hexes, json_k)"
            ) }}
        ) as json_ip_landed,
        transform(
            sequence(1, greatest(cardinality(json_ip_sent), 1)),
            json_k -> regexp_like(
                element_at(json_ip_sent, json_k), '^{{ quad }}$'
            )
            or element_at(json_ip_hexes, json_k) is not null
        ) as json_ip_valid
    from json_ip_hextets
),

ip_text as (
    select
        *,
        regexp_like(ip_address, '^{{ quad }}$') as is_ipv4,
        regexp_like(lower(ip_address), ':{{ quad }}$') as has_quad_tail,
        case
            when regexp_like(lower(ip_address), ':{{ quad }}$')
                then regexp_replace(lower(ip_address), '[0-9.]+$', '0:0')
            else lower(ip_address)
        end as ip_body
    from json_ip_pseudonymised
),

ip_gaps as (
    select
        *,
        strpos(ip_body, '::') > 0 as has_gap,
        case
            when split_part(ip_body, '::', 1) = '' then 0
            else length(split_part(ip_body, '::', 1))
                - length(replace(split_part(ip_body, '::', 1), ':', '')) + 1
        end as gap_left,
        case
            when strpos(ip_body, '::') = 0
                or coalesce(split_part(ip_body, '::', 2), '') = ''
                then 0
            else length(split_part(ip_body, '::', 2))
                - length(replace(split_part(ip_body, '::', 2), ':', '')) + 1
        end as gap_right
    from ip_text
),

ip_checked as (
    select
        *,
        not is_ipv4
        and regexp_like(ip_body, '^[0-9a-f:]+$')
        and case
            when not has_gap
                then regexp_like(ip_body, '^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$')
            else strpos(ip_body, ':::') = 0
                and strpos(substr(ip_body, strpos(ip_body, '::') + 2), '::') = 0
                and regexp_like(
                    split_part(ip_body, '::', 1), '^({{ hextets }})?$'
                )
                and regexp_like(
                    coalesce(split_part(ip_body, '::', 2), ''),
                    '^({{ hextets }})?$'
                )
                and gap_left + gap_right <= 7
        end as is_ipv6
    from ip_gaps
),

ip_hextets as (
    select
        *,
        {%- for i in range(1, 9) %}
            case when is_ipv6 then {{ hextet(i) }} end as ip_h{{ i }},
        {%- endfor %}
        case
            when is_ipv4 then ip_address
            when
                is_ipv6 and has_quad_tail
                and {{ hextet(1) }} || {{ hextet(2) }} || {{ hextet(3) }}
                || {{ hextet(4) }} || {{ hextet(5) }} = '00000'
                and {{ hextet(6) }} = 'ffff'
                then regexp_extract(ip_address, '[0-9.]+$', 0)
        end as ipv4_text
    from ip_checked
),

pseudonymised as (
    select
        *,
        case
            when ip_address is not null and not is_ipv4 and not is_ipv6
                then 1
            else 0
        end
        {%- for column in ["page_url", "page_path", "page_referrer"] %}
            + {{ pii_removed(column) }}
        {%- endfor %}
        {%- for column in json_columns %}
            + {{ json_removed(column) }}
        {%- endfor %} as privacy_removed_count,
        {%- for column in json_columns %}
            {{ json_scrubbed(column) }} as landed_{{ column }},
        {%- endfor %}
        {%- for column in ["page_url", "page_path", "page_referrer"] %}
            {{ without_pii(column) }} as landed_{{ column }},
        {%- endfor %}
        {%- if ip_handling == 'drop' %}
            cast(null as varchar) as landed_ip_address
        {%- elif ip_handling == 'hash' %}
            case
                when ipv4_text is not null or is_ipv6
                    then lower(
                            to_hex(
                                hmac_sha256(
                                    to_utf8(
                                        coalesce(
                                            ipv4_text,
                                            {%- for i in range(1, 7) %}
                                                lpad(ip_h{{ i }}, 4, '0') || ':' ||
                                            {%- endfor %}
                                            case
                                                when has_quad_tail
                                                    then {{ quad_hextets() }}
                                                else lpad(ip_h7, 4, '0') || ':'
                                                    || lpad(ip_h8, 4, '0')
                                            end
                                        )
                                    ),
                                    to_utf8('{{ ip_hash_key | default("") }}')
                                )
                            )
                        )
            end as landed_ip_address
        {%- else %}
            case
                when ipv4_text is not null
                    then regexp_replace(ipv4_text, '\.[0-9]+$', '.0')
                when is_ipv6 and {{ h3_kept("ip_h1", "ip_h3") }} != '0'
                    then ip_h1 || ':' || ip_h2 || ':'
                        || {{ h3_kept("ip_h1", "ip_h3") }} || '::'
                when is_ipv6 and ip_h2 != '0' then ip_h1 || ':' || ip_h2 || '::'
                when is_ipv6 and ip_h1 != '0' then ip_h1 || '::'
                when is_ipv6 then '::'
            end as landed_ip_address
        {%- endif %}
    from ip_hextets
),

-- The outcome, checked in the spec's order: the first check that fires wins.
outcomes as (
    select
        *,
        case
            when line_bytes > 1024000 then 'oversized'
            when record_text = '' then 'empty_record'
            -- invalid UTF-8: the local reader turns it into U+FFFD; Athena's
            -- text reader keeps the raw bytes, which from_utf8 replaces
            when
                strpos(line, '�') > 0 or from_utf8(to_utf8(line)) != line
                then 'invalid_utf8'
            when not is_json or is_non_strict_json then 'invalid_json'
            when is_too_deep then 'too_deep'
            when not is_object_text then 'not_an_object'
            when
                record_map is null
                or has_duplicate_keys
                or has_duplicate_keys_inside
                then 'invalid_json'
            when not (is_nested or has_legacy_type) then 'unknown_shape'
            when timestamp_json is null then 'missing_timestamp'
            when event_timestamp is null then 'invalid_timestamp'
        end as reason
    from pseudonymised
)

select
    archive_date,
    source_file,
    case
        when reason is null then 'ok'
        when reason = 'empty_record' then 'dropped'
        else 'rejected'
    end as outcome,
    reason,
    case when reason is not null then line end as line,
    case when reason is null then event_id end as event_id,
    case when reason is null then landed_timestamp end as event_timestamp,
    case when reason is null then cast(landed_timestamp as date) end
        as event_date,
    case when reason is null then event_type end as event_type,
    case when reason is null then event_name end as event_name,
    case when reason is null then anonymous_id end as anonymous_id,
    case when reason is null then user_id end as user_id,
    case when reason is null then session_id end as session_id,
    case when reason is null then app_id end as app_id,
    case when reason is null then landed_page_url end as page_url,
    case when reason is null then landed_page_path end as page_path,
    case when reason is null then landed_page_referrer end as page_referrer,
    case when reason is null then user_agent end as user_agent,
    case when reason is null then landed_ip_address end as ip_address,
    case when reason is null then space_id end as space_id,
    case when reason is null then space_name end as space_name,
    case when reason is null then space_type end as space_type,
    case when reason is null then room_id end as room_id,
    case when reason is null then room_name end as room_name,
    case when reason is null then community end as community,
    case when reason is null then building end as building,
    case when reason is null then floorplan end as floorplan,
    case when reason is null then coordinates end as coordinates,
    case when reason is null then landed_properties end as properties,
    case
        when reason is null and is_nested then 'nested'
        when reason is null then 'legacy'
    end as source_format,
    case when reason is null then landed_context end as context,
    case when reason is null then landed_traits end as traits,
    case when reason is null then landed_extra end as extra,
    case when reason is null then utm_source end as utm_source,
    case when reason is null then utm_medium end as utm_medium,
    case when reason is null then utm_campaign end as utm_campaign,
    case when reason is null then utm_term end as utm_term,
    case when reason is null then utm_content end as utm_content,
    case when reason is null then locale end as locale,
    case
        when reason is null and sent_micros is not null
            then {{ micros_timestamp("sent_micros") }}
    end as sent_at,
    case
        when reason is null and original_micros is not null
            then {{ micros_timestamp("original_micros") }}
    end as original_timestamp,
    case
        when reason is null
            then cast(redacted_field_count + privacy_removed_count as integer)
    end as redacted_field_count
from outcomes
