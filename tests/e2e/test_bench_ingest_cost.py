"""bench/bench_ingest_cost.py: the per-million-events cost model of the browser path."""

import pytest

from bench import bench_ingest_cost as cost


def test_a_session_is_batched_by_count_bytes_time_and_the_closing_beacon():
    # 150 views + 6 others; only the count rule: 50, 50, 50, then 6 by beacon
    by_count = cost.Session(flush_interval=10_000, max_batch_bytes=10**9, event_bytes=700)
    assert cost.events_per_request(by_count) == pytest.approx(156 / 4)
    # the byte rule: 30,000 bytes hold 41 events of 700 bytes
    by_bytes = cost.Session(flush_interval=10_000, batch_size=500, event_bytes=700)
    assert cost.events_per_request(by_bytes) == pytest.approx(156 / 4)
    # 10 events of 700 bytes (+1 separator each) fill 7,010 bytes: 16 requests
    by_bytes_small = cost.Session(flush_interval=10_000, batch_size=500, max_batch_bytes=7_010,
                                  event_bytes=700)
    assert cost.events_per_request(by_bytes_small) == pytest.approx(156 / 16)
    # the time rule: a flush a minute, five in a 5-minute tour (the last by beacon)
    assert cost.events_per_request(cost.Session()) == pytest.approx(156 / 5)


def test_per_request_lines_shrink_with_the_batch_and_the_rest_does_not():
    one, thirty = cost.cost_per_million(1), cost.cost_per_million(30)
    assert one["api_gateway_rest"] == pytest.approx(3.50)
    assert thirty["api_gateway_rest"] == pytest.approx(3.50 / 30)
    assert thirty["waf"] == pytest.approx(0.60 / 30)
    assert one["kinesis_on_demand"] == thirty["kinesis_on_demand"] == pytest.approx(0.12288)
    for lines in (one, thirty):
        assert lines["total"] == pytest.approx(sum(v for k, v in lines.items() if k != "total"))


def test_inspecting_32_kb_costs_one_extra_16_kb_unit_per_request():
    assert cost.cost_per_million(10, inspection_kb=16)["waf_body_inspection"] == 0
    assert cost.cost_per_million(10, inspection_kb=32)["waf_body_inspection"] == pytest.approx(
        0.30 / 10
    )


def test_http_api_has_no_waf_lines_and_direct_put_no_kinesis():
    http = cost.cost_per_million(30, api="http", ingestion="DirectPut")
    assert not {"waf", "waf_bot_control", "kinesis_on_demand"} & set(http)
    with pytest.raises(ValueError):
        cost.cost_per_million(30, api="graphql")


def test_the_target_is_met_at_the_tracker_defaults_and_missed_one_event_at_a_time():
    rows = {row["figure"]: row for row in cost.main()}
    kinesis = rows["all-in per million events, REST + WAF + Bot Control, Kinesis"]
    assert kinesis["value"] <= cost.TARGET_PER_MILLION
    assert kinesis["target"] == f"<= {cost.TARGET_PER_MILLION}"
    before = rows["all-in per million events, one event per request (before)"]["value"]
    assert before > 8 * cost.TARGET_PER_MILLION
    assert all(row["command"].endswith("bench.bench_ingest_cost") for row in rows.values())
