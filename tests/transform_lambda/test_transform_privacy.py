"""Pseudonymisation at landing (§6b): IP truncated, dropped or keyed-hashed; PII query removed."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import re
from pathlib import Path

import jinja2
import normalise
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from landing_contract import IP_MEMBER_NAMES, PII_QUERY_PARAMETERS
from normalise import OK, normalise_bytes, text
from privacy import (
    _IP_MEMBER_ENDS,
    IP_MEMBER,
    JSON_STRING_OR_IP,
    Privacy,
    may_hold_ip_member,
    pseudonymise_ip,
    scrub_json,
    settings,
    strip_pii_query,
)

from tests.landing.strategies import legacy_events, nested_events

ARRIVAL_MICROS = 1_764_000_000_000_000
TRUNCATE, DROP = Privacy("truncate"), Privacy("drop")
HASH = Privacy("hash", b"k3y")


@pytest.mark.parametrize(
    ("sent", "landed"),
    [
        ("203.0.113.9", "203.0.113.0"),
        ("10.0.0.255", "10.0.0.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("2001:0DB8:0000:0001::1", "2001:db8::"),
        ("2001:db8:0:abcd::1", "2001:db8::"),
        ("0:db8::1", "0:db8::"),
        ("0:0:1::1", "0:0:1::"),
        ("::1", "::"),
        ("::ffff:192.0.2.128", "192.0.2.0"),
        ("::FFFF:198.51.100.7", "198.51.100.0"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3::"),
    ],
)
def test_an_ip_is_truncated_to_its_24_or_48_prefix_by_default(sent, landed):
    assert pseudonymise_ip(sent, TRUNCATE) == (landed, 0)


@pytest.mark.parametrize(
    ("sent", "landed"),
    [
        # 2002:c633:644d:: would be 198.51.100.77 whole: the /40 keeps its /24 only
        ("2002:c633:644d:1::1", "2002:c633:6400::"),
        ("2002:C633:644D:1:2:3:4:5", "2002:c633:6400::"),
        ("2002:c633:4d::1", "2002:c633::"),
        ("2002:0:644d::1", "2002:0:6400::"),
        ("2002:cb00:7109::203.0.113.9", "2002:cb00:7100::"),
    ],
)
def test_a_6to4_address_keeps_only_its_ipv4_s_24(sent, landed):
    assert pseudonymise_ip(sent, TRUNCATE) == (landed, 0)
    # hash and drop are those of any IPv6 address
    assert pseudonymise_ip(sent, DROP) == (None, 0)
    exploded = ipaddress.ip_address(sent).exploded.encode()
    assert pseudonymise_ip(sent, HASH)[0] == hmac.new(b"k3y", exploded, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "garbage",
    ["meta-ip", "256.1.1.1", "01.2.3.4", "1.2.3", "1:2", "1::2::3", "fe80::1%eth0", "10.0.0.0/8"],
)
def test_what_is_not_an_ip_lands_null_and_is_counted(garbage):
    for privacy in (TRUNCATE, DROP, HASH):
        assert pseudonymise_ip(garbage, privacy) == (None, 1)


def test_drop_keeps_no_ip_and_hash_keeps_a_keyed_hmac_of_the_address():
    assert pseudonymise_ip("203.0.113.9", DROP) == (None, 0)
    expected = hmac.new(b"k3y", b"203.0.113.9", hashlib.sha256).hexdigest()
    assert pseudonymise_ip("203.0.113.9", HASH) == (expected, 0)
    # the v4-mapped form is the same address, so the same pseudonym
    assert pseudonymise_ip("::ffff:203.0.113.9", HASH) == (expected, 0)
    assert pseudonymise_ip("203.0.113.9", Privacy("hash", b"other"))[0] != expected


def test_hashing_without_a_key_or_an_unknown_setting_stops_the_cold_start():
    with pytest.raises(ValueError, match="IP_HANDLING=hash needs a key in IP_HASH_KEY"):
        settings({"IP_HANDLING": "hash"})
    with pytest.raises(ValueError, match="is not one of truncate, drop, hash"):
        settings({"IP_HANDLING": "keep"})
    assert settings({}) == TRUNCATE
    assert settings({"IP_HANDLING": "hash", "IP_HASH_KEY": "s"}) == Privacy("hash", b"s")


@pytest.mark.parametrize(
    ("url", "stripped", "removed"),
    [
        ("https://x.test/a?email=a%40b.c&utm_source=n", "https://x.test/a?utm_source=n", 1),
        ("https://x.test/a?Token=1&NAME=x&e-mail=y#top", "https://x.test/a#top", 3),
        ("https://x.test/a?q=1&phone=2&access_token=3&tel", "https://x.test/a?q=1", 3),
        (
            "https://x.test/a?username=u&utm_campaign=c",
            "https://x.test/a?username=u&utm_campaign=c",
            0,
        ),
        ("https://x.test/a#frag?email=x", "https://x.test/a#frag?email=x", 0),
        ("/p?first_name=a&last_name=b&auth=c&password=d", "/p", 4),
        ("https://x.test/a", "https://x.test/a", 0),
    ],
)
def test_pii_query_parameters_are_removed_and_the_rest_kept_in_order(url, stripped, removed):
    assert strip_pii_query(url) == (stripped, removed)


def test_an_environment_names_its_own_pii_query_parameters():
    own = settings({"PII_QUERY_PARAMETERS": " Session, user[email] ,session,ref"})
    assert own.pii_query_parameters == ("session", "user[email]", "ref")
    url = "https://x.test/a?SESSION=9&email=e&user[email]=u&q=1"
    assert strip_pii_query(url, own.pii_query_parameters) == ("https://x.test/a?email=e&q=1", 2)
    # unset or blank keeps the contract's list
    assert settings({"PII_QUERY_PARAMETERS": "  "}).pii_query_parameters == PII_QUERY_PARAMETERS


@pytest.mark.parametrize("listed", ["email,", "email;drop", "o'brien", "a b"])
def test_a_pii_list_with_a_name_no_query_can_hold_stops_the_cold_start(listed):
    with pytest.raises(ValueError, match="is not a query parameter name"):
        settings({"PII_QUERY_PARAMETERS": listed})


def test_the_json_copies_follow_the_environment_s_list(monkeypatch):
    own = settings({"PII_QUERY_PARAMETERS": "ref"})
    monkeypatch.setattr(normalise, "PRIVACY", own)
    event = {
        "type": "page",
        "anonymousId": "a-1",
        "timestamp": "2024-03-10T08:00:00Z",
        "context": {"page": {"url": "https://x.test/?ref=r&email=e", "title": "T"}},
        "properties": {"link": "https://y.test/?REF=1&q=2"},
    }
    row = normalise_bytes(orjson.dumps(event), ARRIVAL_MICROS).row
    assert row["page_url"] == "https://x.test/?email=e"
    assert orjson.loads(row["context"])["page"]["url"] == "https://x.test/?email=e"
    assert orjson.loads(row["properties"])["link"] == "https://y.test/?q=2"
    assert row["redacted_field_count"] == 3


def test_a_landed_row_is_pseudonymised_and_the_removals_are_counted(monkeypatch):
    monkeypatch.setattr(normalise, "PRIVACY", TRUNCATE)
    event = {
        "type": "page",
        "timestamp": "2024-03-10T12:00:00Z",
        "context": {
            "ip": "2001:db8:85a3:8d3::7",
            "page": {
                "url": "https://x.test/p?email=a@b.c&utm_source=news",
                "referrer": "https://r.test/?token=t",
            },
        },
    }
    row = normalise_bytes(orjson.dumps(event), ARRIVAL_MICROS).row
    assert row["ip_address"] == "2001:db8:85a3::"
    assert row["page_url"] == "https://x.test/p?utm_source=news"
    assert row["page_referrer"] == "https://r.test/"
    assert row["utm_source"] == "news"
    assert row["redacted_field_count"] == 2
    # the values as sent are stored nowhere: the context keys a column took are gone
    assert orjson.loads(row["context"]) == {}
    assert "a@b.c" not in orjson.dumps(row).decode()
    assert "8d3::7" not in orjson.dumps(row).decode()


def test_a_garbage_ip_lands_null_and_counts(monkeypatch):
    monkeypatch.setattr(normalise, "PRIVACY", DROP)
    event = {"type": "page", "timestamp": 1_710_000_000_000, "context": {"ip": "not-an-ip"}}
    outcome = normalise_bytes(orjson.dumps(event), ARRIVAL_MICROS)
    assert outcome.result == OK
    assert (outcome.row["ip_address"], outcome.row["redacted_field_count"]) == (None, 1)


def test_the_function_does_not_start_when_hashing_has_no_key():
    """A cold start in a fresh interpreter, as Lambda imports the handler module."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    lambda_dir = Path(normalise.__file__).resolve().parent
    env = {**os.environ, "IP_HANDLING": "hash"}
    env.pop("IP_HASH_KEY", None)
    started = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=lambda_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert started.returncode != 0
    assert "IP_HANDLING=hash needs a key in IP_HASH_KEY" in started.stderr


# ---- the copies inside the JSON columns ------------------------------------------------------
SEGMENT_PAGE = {
    "type": "page",
    "timestamp": "2024-03-10T12:00:00Z",
    "anonymousId": "a-1",
    "context": {
        "ip": "203.0.113.9",
        # title and search: no column takes them, so page stays whole in context
        "page": {
            "title": "Tour",
            "url": "https://x.test/p?email=a%40b.c&q=1",
            "path": "/p",
            "referrer": "https://r.test/?token=t",
            "search": "?email=a%40b.c&q=1",
        },
        "traits": {"ip": "198.51.100.77", "name": "Ada"},
    },
    "metadata": {"ip": "2001:db8:85a3:8d3::7"},
    "properties": {
        "link": "https://y.test/?Phone=1#f",
        "ip": "not-an-ip",
        "list": [{"ip": 3232235777}, "/r?tel=2&a=b"],
        "https://k.test/?email=x": "a key stays",
    },
}


def land(event: dict, privacy: Privacy, monkeypatch) -> dict:
    monkeypatch.setattr(normalise, "PRIVACY", privacy)
    outcome = normalise_bytes(orjson.dumps(event), ARRIVAL_MICROS)
    assert outcome.result == OK, outcome
    return outcome.row


def test_a_page_kept_whole_and_url_valued_properties_lose_their_pii_parameters(monkeypatch):
    row = land(SEGMENT_PAGE, TRUNCATE, monkeypatch)
    page = orjson.loads(row["context"])["page"]
    assert page == {
        "title": "Tour",
        "url": "https://x.test/p?q=1",
        "path": "/p",
        "referrer": "https://r.test/",
        "search": "?q=1",
    }
    properties = orjson.loads(row["properties"])
    assert properties["link"] == "https://y.test/#f"
    assert properties["list"][1] == "/r?a=b"
    assert properties["https://k.test/?email=x"] == "a key stays"  # names are not values
    assert "a%40b.c" not in orjson.dumps(row).decode().replace("?email=x", "")


def test_every_ip_inside_the_json_columns_gets_the_setting_s_rule(monkeypatch):
    row = land(SEGMENT_PAGE, TRUNCATE, monkeypatch)
    assert row["ip_address"] == "203.0.113.0"
    assert orjson.loads(row["traits"])["ip"] == "198.51.100.0"
    assert orjson.loads(row["extra"])["metadata"]["ip"] == "2001:db8:85a3::"
    properties = orjson.loads(row["properties"])
    # not an address (a string that is none, or a number): null, and counted
    assert properties["ip"] is None and properties["list"][0] == {"ip": None}
    text = orjson.dumps(row).decode()
    assert not any(ip in text for ip in ("198.51.100.77", "8d3::7", "3232235777"))

    dropped = land(SEGMENT_PAGE, DROP, monkeypatch)
    assert orjson.loads(dropped["traits"])["ip"] is None
    assert orjson.loads(dropped["extra"])["metadata"]["ip"] is None

    hashed = land(SEGMENT_PAGE, HASH, monkeypatch)
    expected = hmac.new(b"k3y", b"198.51.100.77", hashlib.sha256).hexdigest()
    assert orjson.loads(hashed["traits"])["ip"] == expected


def test_each_removal_inside_the_json_columns_is_counted(monkeypatch):
    # columns: page_url email, page_referrer token (2); context.page: url email, referrer
    # token, search email (3); properties: link Phone, list tel (2), ip and list ip not
    # addresses (2). traits.name is a member, not a query parameter: it stays.
    for privacy in (TRUNCATE, DROP, HASH):
        assert land(SEGMENT_PAGE, privacy, monkeypatch)["redacted_field_count"] == 9
    assert orjson.loads(land(SEGMENT_PAGE, TRUNCATE, monkeypatch)["traits"])["name"] == "Ada"


def test_a_blank_ip_member_or_a_non_scalar_one_is_left_as_sent(monkeypatch):
    event = {"type": "track", "event": "e", "timestamp": 1_710_000_000_000,
             "properties": {"ip": " ", "nested": {"ip": {"v4": "x"}}, "flag": True}}
    row = land(event, TRUNCATE, monkeypatch)
    assert orjson.loads(row["properties"]) == event["properties"]
    assert row["redacted_field_count"] == 0


def json_values(value, key=None):
    """(member name or None, value) of every value at any depth of a parsed JSON value."""
    yield key, value
    if isinstance(value, dict):
        for name, member in value.items():
            yield from json_values(member, name)
    elif isinstance(value, list):
        for member in value:
            yield from json_values(member)


def is_address_member(name) -> bool:
    return isinstance(name, str) and name.isascii() and name.lower() in IP_MEMBER_NAMES


def is_pseudonymised(ip, privacy: Privacy) -> bool:
    if ip is None or isinstance(ip, str) and text(ip) is None:
        return True
    if not isinstance(ip, str) or privacy.ip_handling == "drop":
        return False
    if privacy.ip_handling == "hash":
        return re.fullmatch("[0-9a-f]{64}(, [0-9a-f]{64})*", ip) is not None
    # a network address is its own /24, /48 (/40 for 6to4); a list, each of its parts
    return all(pseudonymise_ip(part, privacy) == (part, 0) for part in ip.split(", "))


@hypothesis_settings(max_examples=200, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
@given(legacy_events | nested_events, st.sampled_from([TRUNCATE, DROP, HASH]))
def test_no_json_column_holds_an_ip_or_a_pii_parameter_as_sent(event, privacy):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalise, "PRIVACY", privacy)
        row = normalise_bytes(orjson.dumps(event), ARRIVAL_MICROS).row
    for column in ("properties", "context", "traits", "extra"):
        for name, value in json_values(orjson.loads(row[column])):
            if is_address_member(name) and isinstance(value, list):
                # an array of strings only; a mixed one is left as sent (§6b, "left")
                if all(isinstance(v, str) for v in value):
                    assert all(is_pseudonymised(v, privacy) for v in value), (column, value)
            elif is_address_member(name) and not isinstance(value, bool | dict):
                assert is_pseudonymised(value, privacy), (column, value)
            elif isinstance(value, str):
                assert strip_pii_query(value)[1] == 0, (column, value)


SQL_FILE = Path(__file__).resolve().parents[2] / "sql/backfill/web_events_backfill_stage_insert.sql"


@functools.cache
def sql_macros():
    """The backfill SQL's Jinja macros and names, as its template defines them."""
    return jinja2.Environment().from_string(SQL_FILE.read_text()).module


def sql_json_tokens() -> re.Pattern:
    """The backfill SQL's json_tokens pattern (its string literals joined by ||)."""
    return re.compile("".join(re.findall(r"'([^']*)'", str(sql_macros().json_tokens("j")))))


def test_the_sql_s_address_member_names_are_the_contract_s():
    assert sql_macros().ip_member_names == list(IP_MEMBER_NAMES)


def is_sql_member(token: str) -> bool:
    return re.match(r'"(?:' + IP_MEMBER + r')":.', token) is not None


@hypothesis_settings(max_examples=300, deadline=None, database=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(['a"b?email=1', "x\\?token", "ip", '"ip":"1.2.3.4"',
                                             "1.2.3.4, 5.6.7.8"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["ip", "url", "a?email=1", 'k"ip":', "IP", "clientIp",
                                       "X-Forwarded-For", "ipx", "ıp"]), children, max_size=3),
    max_leaves=12,
))
def test_the_lambda_reads_the_same_strings_and_ip_members_as_the_sql(value):
    text_ = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    tokens = [m.group() for m in sql_json_tokens().finditer(text_)]
    assert "".join(tokens) == text_  # the SQL's tokens cover the text
    starts, at = [], 0
    for token in tokens:
        if token.startswith('"'):  # a string, a key with its ':', an ip member with its value
            starts.append(at)
        at += len(token)
    # the same places in the Lambda, and the same address members (with their values)
    found = list(JSON_STRING_OR_IP.finditer(text_))
    assert [m.start() for m in found] == starts
    assert [m.group() for m in found if m.group("value") is not None] == [
        t for t in tokens if is_sql_member(t)
    ]


@pytest.mark.parametrize(("sent", "truncated", "removed"), [
    # the reviewer's cases: other names, any case, a header's list, an array
    ({"ipAddress": "203.0.113.9"}, {"ipAddress": "203.0.113.0"}, 0),
    ({"IP": "198.51.100.77"}, {"IP": "198.51.100.0"}, 0),
    ({"headers": {"x-forwarded-for": "1.2.3.4, 5.6.7.8"}},
     {"headers": {"x-forwarded-for": "1.2.3.0, 5.6.7.0"}}, 0),
    ({"ip": ["1.2.3.4"]}, {"ip": ["1.2.3.0"]}, 0),
    # a part that is no address is dropped and counted, an empty one too; none left: null
    ({"X-Forwarded-For": "203.0.113.9,junk, 2001:db8:1:2::3,  "},
     {"X-Forwarded-For": "203.0.113.0, 2001:db8:1::"}, 2),
    ({"client_ip": "unknown, junk"}, {"client_ip": None}, 2),
    # each element of an array; a blank one stays, as a blank member does
    ({"clientIp": ["1.2.3.4", " ", "bad", "5.6.7.8, 9.9.9.9"], "remote_ip": []},
     {"clientIp": ["1.2.3.0", " ", None, "5.6.7.0, 9.9.9.0"], "remote_ip": []}, 1),
    ({"X-REAL-IP": 3232235777}, {"X-REAL-IP": None}, 1),
    # an address member is never read for PII parameters: it is no address, counted once
    ({"Ip": "1.2.3.4?email=x"}, {"Ip": None}, 1),
    # whole names only, ASCII case only
    ({"ips": "1.2.3.4", "ipx": "1.2.3.4", "ıp": "1.2.3.4"},
     {"ips": "1.2.3.4", "ipx": "1.2.3.4", "ıp": "1.2.3.4"}, 0),
])
def test_every_address_member_name_in_any_case_gets_the_ip_rule(sent, truncated, removed):
    ip_rule = lambda ip: pseudonymise_ip(ip, TRUNCATE)  # noqa: E731
    scrubbed, count = scrub_json(orjson.dumps(sent).decode(), ip_rule, text)
    assert (orjson.loads(scrubbed), count) == (truncated, removed)
    dropped, _ = scrub_json(orjson.dumps(sent).decode(), lambda ip: pseudonymise_ip(ip, DROP), text)
    assert "1.2.3.0" not in dropped and "203.0.113" not in dropped.replace("203.0.113.9", "")


@pytest.mark.parametrize("value", ['{"a":1}', '{"links":["x"],"settings":{}}', '{"zip":"1"}'])
def test_the_pre_check_lets_a_text_without_address_members_skip_the_regex(value):
    assert may_hold_ip_member(value) is False


def test_every_address_member_name_ends_as_the_pre_check_expects():
    assert all(any(name.endswith(end[:-2]) for end in _IP_MEMBER_ENDS) for name in IP_MEMBER_NAMES)


@pytest.mark.parametrize("value", ['{"ip":1}', '{"a":{"X-Forwarded-FOR":"x"}}',
                                   '{"IPADDRESS":1}', '{"x-real-ip":[]}'])
def test_the_pre_check_finds_every_address_member_name(value):
    assert may_hold_ip_member(value) is True


def test_scrub_json_leaves_member_names_escapes_and_non_ip_members_alone():
    ip_rule = lambda ip: pseudonymise_ip(ip, TRUNCATE)  # noqa: E731
    sent = orjson.dumps({
        "a?email=1": "b?email=1&c=2", "q": 'say "ip":"203.0.113.9"', "ipx": "203.0.113.9",
        "x": [{"ip": "203.0.113.9"}, {"ip": -1}],
    }).decode()
    scrubbed, removed = scrub_json(sent, ip_rule, text)
    assert orjson.loads(scrubbed) == {
        "a?email=1": "b?c=2", "q": 'say "ip":"203.0.113.9"', "ipx": "203.0.113.9",
        "x": [{"ip": "203.0.113.0"}, {"ip": None}],
    }
    assert removed == 2
