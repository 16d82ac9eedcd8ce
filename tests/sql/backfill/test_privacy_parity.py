"""§6b pseudonymisation, every IpHandling setting and an environment's own PII parameter
list: the Lambda and sql/backfill land the same row for the privacy fixture (IPv4, IPv6,
v4-mapped v6, garbage, URLs with and without PII query parameters), and no whole IP reaches
raw or analytics.web_events whatever the setting.
(truncate is also covered by test_lambda_parity.py, which runs every fixture file.)
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import normalise
import pytest
from landing_contract import PII_QUERY_PARAMETERS
from privacy import pseudonymise_ip, settings

from tests.sql.backfill.test_lambda_parity import (
    FIXTURES,
    JSON_COLUMNS,
    NOT_COMPARED,
    lambda_answers,
    lambda_value,
)
from webevents.engines import get_engine
from webevents.jobs.backfill import backfill_files
from webevents.jobs.sql import SqlRunError, run_files

SQL_DIR = Path(__file__).resolve().parents[3] / "sql"
PRIVACY_FIXTURE = FIXTURES / "privacy.jsonl"
KEY = "parity-key"
# The environment of each setting, as template.yaml gives it to the Lambda and the job.
ENVIRONMENTS = {
    "truncate": {"IP_HANDLING": "truncate"},
    "drop": {"IP_HANDLING": "drop"},
    "hash": {"IP_HANDLING": "hash", "IP_HASH_KEY": KEY},
    # PiiQueryParameters replaced: spaces and case as a person may write them
    "own-pii-list": {"IP_HANDLING": "truncate", "PII_QUERY_PARAMETERS": " Username, q ,email"},
}
SETTINGS = {name: settings(environ) for name, environ in ENVIRONMENTS.items()}


def privacy_lines() -> list[tuple[str, bytes]]:
    data = PRIVACY_FIXTURE.read_bytes()
    return [(f"privacy.jsonl:{n + 1}", line) for n, line in enumerate(data.splitlines())]


def ip_members(value) -> list:
    """The value of every `ip` member at any depth."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "ip"] + [
            ip for v in value.values() for ip in ip_members(v)
        ]
    if isinstance(value, list):
        return [ip for v in value for ip in ip_members(v)]
    return []


def sent_ips() -> set[str]:
    """Every IP the fixture sends, anywhere, that pseudonymising changes (a /24 or /48
    network address such as 0.0.0.0 or '::' is its own truncation, so it is not 'whole')."""
    found = set()
    for _, raw in privacy_lines():
        for ip in ip_members(json.loads(raw)):
            if not isinstance(ip, str):
                continue
            if pseudonymise_ip(ip.strip(), SETTINGS["truncate"])[0] not in (None, ip.strip()):
                found.add(ip.strip())
    return found


@pytest.fixture(params=list(SETTINGS), scope="module")
def landed(request, tmp_path_factory):
    """(setting, Lambda answers, stage rows, analytics rows) of the fixture for one setting."""
    setting = request.param
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalise, "PRIVACY", SETTINGS[setting])
        for variable in ("IP_HANDLING", "IP_HASH_KEY", "PII_QUERY_PARAMETERS"):
            patch.delenv(variable, raising=False)
        for variable, value in ENVIRONMENTS[setting].items():
            patch.setenv(variable, value)
        answers = lambda_answers(privacy_lines())
        root = tmp_path_factory.mktemp(f"privacy-{setting}")
        day = root / "archive" / "dt=2024-03-10"
        day.mkdir(parents=True)
        (day / "privacy.jsonl").write_bytes(PRIVACY_FIXTURE.read_bytes())
        lake = root / "lake"
        backfill_files([day / "privacy.jsonl"], lake=lake)
        run_files(
            [SQL_DIR / "enrich"],
            engine="local",
            lake=lake,
            echo=None,
            params={"run_date": "2024-03-10", "lookback_days": "1"},
        )
    engine = get_engine("local", lake=lake)
    try:
        columns, rows = engine.query("select * from raw.web_events_backfill_stage")
        stage = [dict(zip(columns, row, strict=True)) for row in rows]
        columns, rows = engine.query("select * from analytics.web_events")
        analytics = [dict(zip(columns, row, strict=True)) for row in rows]
    finally:
        engine.close()
    return setting, answers, stage, analytics


def test_the_lambda_and_the_backfill_land_the_same_pseudonymised_row(landed):
    setting, answers, stage, _ = landed
    by_id = {row["event_id"]: row for row in stage if row["outcome"] == "ok"}
    assert len(by_id) == len(answers)
    mismatches = []
    for (where, _), (outcome, _, lambda_row) in zip(privacy_lines(), answers, strict=True):
        assert outcome == "ok", where
        sql_row = by_id[lambda_row["event_id"]]
        for column, value in lambda_row.items():
            if column not in NOT_COMPARED and lambda_value(column, value) != sql_row[column]:
                mismatches.append(f"{setting} {where}: {column}: {value!r} != {sql_row[column]!r}")
        for column in JSON_COLUMNS:
            if json.loads(lambda_row[column]) != json.loads(sql_row[column]):
                mismatches.append(f"{setting} {where}: {column} differs")
    assert not mismatches, "\n".join(mismatches)


# Runs of the characters an address is written with; an IPv4 inside a longer run.
_ADDRESS_RUN = re.compile(r"[0-9A-Fa-f:.]{3,}")
_QUAD = re.compile(r"(?<![0-9])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![0-9])")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def whole_ips(text: str) -> list[str]:
    """Every IP address written anywhere in text that holds more than §6b keeps of it: host
    bits past an IPv4's /24 (also inside a v4-mapped address), past an IPv6's /48, or past
    a 6to4 address's /40 (bits 16-47 are an IPv4 whole). Judged on the address itself, not
    on what was sent, so a copy under any name, in a list or truncated wrongly is found."""
    found = []
    for run in _ADDRESS_RUN.findall(text):
        try:
            addresses = [(run, ipaddress.ip_address(run))]
        except ValueError:  # an IPv4 within a longer run
            addresses = [(quad, ipaddress.ip_address(quad)) for quad in _QUAD.findall(run)
                         if _is_address(quad)]
        for candidate, address in addresses:
            if address.version == 6 and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            kept = 24 if address.version == 4 else 40 if address.sixtofour else 48
            if int(address) & ((1 << (address.max_prefixlen - kept)) - 1):
                found.append(candidate)
    return found


def test_the_whole_ip_finder_finds_what_a_person_could_read_back():
    text = json.dumps({"ipAddress": "203.0.113.9", "h": "1.2.3.4, 5.6.7.0", "v6": "2001:db8::1",
                       "six": "2002:c633:644d::", "m": "::ffff:198.51.100.7", "ok": "10.0.0.0",
                       "t": "12:00:00", "n": "2001:db8:85a3::", "s": "2002:c633:6400::"})
    assert whole_ips(text) == ["203.0.113.9", "1.2.3.4", "2001:db8::1", "2002:c633:644d::",
                               "::ffff:198.51.100.7"]


def test_no_whole_ip_reaches_raw_or_analytics_whatever_the_setting(landed):
    setting, answers, stage, analytics = landed
    assert len(sent_ips()) > 15  # the fixture really sends IPv4, IPv6 and v4-mapped addresses
    assert analytics, "enrich must have built analytics rows"
    for row in [a for _, _, a in answers] + stage + analytics:
        # every value, the JSON columns decoded too (a copy inside them is a string within a
        # string); the rejected lines of the stage are the archive as sent, not landed rows
        landed_row = {k: v for k, v in row.items() if k != "line"}
        text = json.dumps(
            {k: json.loads(v) if k in JSON_COLUMNS and v else v for k, v in landed_row.items()},
            default=str,
        )
        leaked = whole_ips(text)
        assert not leaked, f"{setting}: {row['event_id']} holds {leaked}"
    landed_ips = {row["ip_address"] for row in analytics} - {None}
    if setting == "drop":
        assert landed_ips == set()
    elif setting == "hash":
        assert all(len(ip) == 64 and set(ip) <= set("0123456789abcdef") for ip in landed_ips)
    else:
        assert "203.0.113.0" in landed_ips and "2001:db8:85a3::" in landed_ips


def query_names(rows) -> set[str]:
    """The names of the query parameters left in the rows' page URLs, lower case."""
    queries = [
        re.match(r"[^?#]*\?([^#]*)", row[column] or "")
        for row in rows
        for column in ("page_url", "page_path", "page_referrer")
    ]
    return {
        part.split("=", 1)[0].lower()
        for query in queries
        if query is not None
        for part in query.group(1).split("&")
    }


def test_an_environment_s_own_list_replaces_the_contract_s_in_both(landed):
    setting, answers, stage, _ = landed
    lambda_names = query_names(row for _, _, row in answers)
    sql_names = query_names(row for row in stage if row["outcome"] == "ok")
    assert lambda_names == sql_names
    if setting == "own-pii-list":
        assert not {"username", "q", "email"} & sql_names
        assert {"token", "phone", "name", "utm_source"} <= sql_names
    else:
        assert not set(PII_QUERY_PARAMETERS) & sql_names
        assert {"username", "q", "utm_source"} <= sql_names


def stage_one_day(tmp_path) -> None:
    """The stage insert for one archive day of an empty archive, as the backfill runs it."""
    run_files(
        [SQL_DIR / "backfill" / "web_events_backfill_stage_insert.sql"],
        engine="local",
        lake=tmp_path / "lake",
        echo=None,
        params={
            "archive_location": str(tmp_path),
            "loaded_at": "2024-03-10 00:00:00",
            "date_from": "2024-03-10",
            "date_to": "2024-03-10",
        },
    )


def test_the_backfill_refuses_hashing_without_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("IP_HANDLING", "hash")
    monkeypatch.delenv("IP_HASH_KEY", raising=False)
    with pytest.raises(SqlRunError, match="ip_handling=hash needs a key"):
        stage_one_day(tmp_path)


def test_the_sql_s_default_list_is_the_contract_s():
    sql = (SQL_DIR / "backfill" / "web_events_backfill_stage_insert.sql").read_text()
    start = sql.index("pii_query_parameters | default(")
    listed = "".join(re.findall(r'"([^"]*)"', sql[start : sql.index(", true", start)]))
    assert listed.split(",") == list(PII_QUERY_PARAMETERS)


@pytest.mark.parametrize("listed, error", [
    ("email,", "'' is not a query parameter name"),
    ("email;drop", "'email;drop' is not a query parameter name"),
    ("o'brien", "\"o'brien\" is not a query parameter name"),
])
def test_the_runner_refuses_a_pii_list_it_cannot_hold(tmp_path, monkeypatch, listed, error):
    monkeypatch.setenv("PII_QUERY_PARAMETERS", listed)
    with pytest.raises(SqlRunError, match=re.escape(error)):
        stage_one_day(tmp_path)


def test_the_runner_refuses_an_unknown_ip_handling(tmp_path, monkeypatch):
    monkeypatch.setenv("IP_HANDLING", "keep")
    with pytest.raises(SqlRunError, match="ip_handling='keep' is not one of truncate, drop, hash"):
        run_files(
            [SQL_DIR / "backfill" / "web_events_backfill_stage_insert.sql"],
            engine="local",
            lake=tmp_path / "lake",
            echo=None,
        )
