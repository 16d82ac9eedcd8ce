"""`webevents generate`: deterministic, realistic, every anomaly present, truth matches files."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from datetime import date
from pathlib import Path

import orjson
import pytest

from webevents.cli import main
from webevents.dev.generate import BOT_SHARES, MALFORMED_KINDS, content_id, generate_sample

END = date(2026, 11, 24)

# tests share a module fixture: keep them on one xdist worker (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("generate_sample")


def sample_lines(out: Path) -> list[tuple[str, bytes]]:
    """Every line in truth order: archive days, then stream files."""
    lines = []
    for path in sorted((out / "archive").glob("dt=*/events.jsonl.gz")):
        with gzip.open(path, "rb") as handle:
            lines += [("archive", line.rstrip(b"\n")) for line in handle]
    for path in sorted((out / "stream").glob("*.jsonl")):
        with open(path, "rb") as handle:
            lines += [("stream", line.rstrip(b"\n")) for line in handle]
    return lines


def truth_rows(out: Path) -> list[dict]:
    return [orjson.loads(line) for line in (out / "truth.jsonl").read_bytes().splitlines()]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, list[tuple[str, bytes]], list[dict]]:
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, events=30_000, days=10, seed=11, end_date=END)
    return out, sample_lines(out), truth_rows(out)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_sample(tmp_path / name, events=2_000, days=3, seed=seed, end_date=END)

    def files(folder: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
        }

    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a") != files(tmp_path / "c")


def test_layout_archive_by_day_stream_recent(sample):
    out, lines, _ = sample
    archive_days = sorted(p.name for p in (out / "archive").iterdir())
    assert archive_days == [f"dt=2026-11-{d:02d}" for d in range(15, 24)]
    assert [p.name for p in sorted((out / "stream").iterdir())] == ["events-2026-11-24.jsonl"]
    assert sum(1 for where, _ in lines if where == "stream") > 0


def test_truth_has_one_row_per_line_and_the_ids_the_lambda_assigns(sample):
    _, lines, truth = sample
    assert len(truth) == len(lines)
    import normalise  # the Lambda's own rules (transform_lambda/ is on pytest's pythonpath)

    for (where, line), row in zip(lines, truth, strict=True):
        assert row["location"] == where
        outcome = normalise.normalise_bytes(line, 0, "backfill")
        expected = {"ok": "Ok", "failed": "ProcessingFailed", "dropped": "Dropped"}[row["outcome"]]
        assert outcome.result == expected, (line, outcome.reason)
        if row["outcome"] == "ok":
            assert outcome.row["event_id"] == row["event_id"]
        else:
            assert outcome.reason == row["reason"]
            assert row["event_id"] is None


def test_content_id_is_the_documented_rule():
    assert content_id(b' {"a":1}\r\n') == content_id(b'{"a":1}')
    assert content_id(b'{"a":1}') == (
        "h" + __import__("hashlib").sha256(b'{"a":1}').hexdigest()
    )


def test_proportions_are_realistic(sample):
    _, lines, truth = sample
    ok = [(line, row) for (_, line), row in zip(lines, truth, strict=True)
          if row["outcome"] == "ok"]
    total = len(truth)
    bots = Counter(row["bot_kind"] for _, row in ok if row["is_bot"])
    bot_share = sum(bots.values()) / total
    assert 0.06 < bot_share < 0.2, bots
    nested = sum(1 for line, _ in ok if line.startswith(b'{"_id"')) / len(ok)
    assert 0.4 < nested < 0.8
    duplicates = sum(row["is_duplicate"] for row in truth) / total
    assert 0.008 < duplicates < 0.04
    failed = sum(row["is_malformed"] for row in truth) / total
    assert 0.001 < failed < 0.01
    assert 0.9 * 30_000 < total < 1.15 * 30_000


def test_every_anomaly_kind_is_present(sample):
    _, lines, truth = sample
    rows = list(zip(lines, truth, strict=True))
    assert {row["bot_kind"] for _, row in rows if row["is_bot"]} == set(BOT_SHARES)
    assert {row["reason"] for _, row in rows if row["is_malformed"]} == set(MALFORMED_KINDS)
    assert any(row["reason"] == "empty_record" for _, row in rows)
    assert any(row["is_late"] and where == "stream" for (where, _), row in rows)

    first_copy: dict[str, bytes] = {}
    exact, same_id_other_bytes, cross_file = 0, 0, 0
    first_where: dict[str, str] = {}
    for (where, line), row in rows:
        if row["outcome"] != "ok":
            continue
        if row["is_duplicate"]:
            exact += first_copy[row["event_id"]] == line
            same_id_other_bytes += first_copy[row["event_id"]] != line
            cross_file += first_where[row["event_id"]] != where
        else:
            assert row["event_id"] not in first_copy, "two distinct events share an id"
            first_copy[row["event_id"]] = line
            first_where[row["event_id"]] = where
    assert exact and same_id_other_bytes and cross_file


def test_both_shapes_and_every_timestamp_variant(sample):
    _, lines, truth = sample
    records = [orjson.loads(line) for (_, line), row in zip(lines, truth, strict=True)
               if row["outcome"] == "ok"]
    nested_dates = [r["eventTimestamp"]["$date"] for r in records if "eventData" in r]
    assert any(isinstance(v, int) for v in nested_dates)
    assert any(isinstance(v, dict) and "$numberLong" in v for v in nested_dates)
    assert any(isinstance(v, str) and v.endswith("Z") for v in nested_dates)
    assert any(isinstance(v, str) and v[-6] in "+-" for v in nested_dates)
    # microseconds (.mmmuuuZ) as the current SDK exports them: tests must see what a
    # timestamp(3) cast on Athena would round away
    sub_millisecond = [v for v in nested_dates
                       if isinstance(v, str) and re.search(r"\.\d{3}(?!000)\d{3}Z$", v)]
    assert len(sub_millisecond) > len(nested_dates) / 4
    legacy = [r for r in records if "eventData" not in r]
    assert any("messageId" in r and "context" in r for r in legacy)
    assert any("messageId" not in r and "eventId" not in r for r in legacy)  # content ids
    assert any("type" not in r and "event" in r for r in legacy)
    assert any(isinstance(r.get("sessionId"), int) for r in legacy)


def test_users_devices_and_view_paths_are_plausible(sample):
    _, lines, truth = sample
    users_by_device: dict[str, set] = {}
    coordinates = []
    for (_, line), row in zip(lines, truth, strict=True):
        if row["outcome"] != "ok" or row["is_bot"]:
            continue
        record = orjson.loads(line)
        payload = record.get("eventData", record)
        anonymous_id = payload.get("anonymousId") or record.get("metadata", {}).get("anonymousId")
        users_by_device.setdefault(anonymous_id, set()).add(payload.get("userId"))
        coords = payload.get("properties", {}).get("coordinates")
        if coords:
            coordinates.append({k: float(v) for k, v in coords.items()})
    assert any(len(users - {None}) >= 2 for users in users_by_device.values())  # shared device
    assert any(users == {None} for users in users_by_device.values())  # anonymous visitors
    assert all(-180 <= c["yaw"] < 180 and -90 <= c["pitch"] <= 90 for c in coordinates)
    assert all(30 <= c["hfov"] <= 120 for c in coordinates)
    assert any(abs(c["pitch"]) > 45 for c in coordinates)
    assert len({round(c["yaw"]) for c in coordinates}) > 300


def test_stealth_scrapers_look_human_but_move_inhumanly_fast(sample):
    _, lines, truth = sample
    sessions: dict[str, list] = {}
    for (_, line), row in zip(lines, truth, strict=True):
        if row["bot_kind"] == "stealth_scraper" and not row["is_duplicate"]:
            record = orjson.loads(line)
            assert "bot" not in record["context"]["userAgent"].lower()
            sessions.setdefault(record["sessionId"], []).append(record["originalTimestamp"])
    biggest = max(sessions.values(), key=len)
    assert len(biggest) >= 100


def test_cli_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "archive").mkdir()
    code = main(["generate", "--out", str(tmp_path), "--events", "500", "--days", "2"])
    assert code == 2
    message = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "was not written by `webevents generate`" in message


def test_cli_rewrites_its_own_sample(tmp_path):
    args = ["generate", "--out", str(tmp_path), "--events", "500", "--days", "3",
            "--end-date", "2026-11-24"]
    assert main(args) == 0
    first = (tmp_path / "truth.jsonl").read_bytes()
    assert main(args) == 0
    assert (tmp_path / "truth.jsonl").read_bytes() == first
    assert main(["generate", "--out", str(tmp_path), "--end-date", "24-11-2026"]) == 2
