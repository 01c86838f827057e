"""zaiproxy.tokens.stats: the request record, its counters and per-minute series, the views read
back from summed counters (several processes), and the Prometheus exposition as
prometheus_client's parser reads it. Expected figures are worked out by hand from the records."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping

import pytest
from prometheus_client.parser import text_string_to_metric_families

from zaiproxy.tokens.stats import (
    Gauge,
    ModelTotals,
    RequestRecord,
    Totals,
    parse_key,
    render_prometheus,
    sample_key,
    series_points,
    statistics,
    stats_batch,
)

T0 = 1_700_000_040  # the start of a minute
TOKEN = "ab" * 32
DURATION_LE = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300")
TTFB_LE = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30")


def record(**fields: object) -> RequestRecord:
    values: dict = {
        "timestamp": T0 + 5.0,
        "method": "POST",
        "path": "/v1/chat/completions",
        "api": "openai",
        "model": "GLM-4.7",
        "stream": True,
        "status": 200,
        "duration": 0.8,
        "ttfb": 0.02,
        "client_ip": "10.0.0.1",
        "user_agent": "OpenAI/Python 1.40",
        "token_id": TOKEN,
        "token_source": "pool",
    }
    values.update(fields)
    return RequestRecord(**values)


# Minute T0: a streamed success and an upstream failure on one pool token.
R1 = record(input_tokens=10, output_tokens=20)
R2 = record(
    timestamp=T0 + 30.0,
    stream=False,
    status=502,
    duration=3.0,
    ttfb=None,
    upstream_status=500,
    error="upstream 500",
)
# Minute T0+60: a guest stream that broke after its 200, and a success without a token whose
# duration and ttfb sit exactly on a bucket bound (le is "less than or equal").
R3 = record(
    timestamp=T0 + 70.0,
    path="/v1/messages",
    api="anthropic",
    model="GLM-4.5",
    duration=12.0,
    ttfb=0.3,
    token_id=None,
    token_source="anonymous",
    input_tokens=5,
    output_tokens=7,
    error="stream broke",
)
R4 = record(
    timestamp=T0 + 75.0,
    path="/v1/messages",
    api="anthropic",
    model="GLM-4.5",
    stream=False,
    duration=0.05,
    ttfb=0.05,
    token_id=None,
    token_source="none",
    input_tokens=1,
    output_tokens=2,
)
RECORDS = (R1, R2, R3, R4)


def summed(*counter_sets: Mapping[str, float]) -> dict[str, float]:
    """What a store holds after several processes added their batches."""
    total: dict[str, float] = {}
    for counters in counter_sets:
        for key, value in counters.items():
            total[key] = total.get(key, 0.0) + value
    return total


def buckets(counters: Mapping[str, float], name: str, api: str, bounds: tuple[str, ...]) -> list:
    return [counters[f'{name}_bucket{{api="{api}",le="{le}"}}'] for le in (*bounds, "+Inf")]


# --- the record ----------------------------------------------------------------------------------


def test_success_and_token_display() -> None:
    assert R1.success
    assert not R2.success  # HTTP error
    assert not R3.success  # 200, but the stream failed
    assert R4.success
    assert R1.token_display == "token:abababab"
    assert R3.token_display == "guest"
    assert R4.token_display == "none"


def test_json_round_trip_is_compact_and_complete() -> None:
    for r in RECORDS:
        text = r.to_json()
        assert ", " not in text and '": ' not in text
        assert RequestRecord.from_json(text) == r
    assert json.loads(R2.to_json())["ttfb"] is None
    assert set(json.loads(R1.to_json())) == {
        "timestamp", "method", "path", "api", "model", "stream", "status", "duration", "ttfb",
        "client_ip", "user_agent", "token_id", "token_source", "input_tokens", "output_tokens",
        "upstream_status", "error",
    }  # fmt: skip


def test_from_json_tolerates_missing_optional_fields_and_unknown_keys() -> None:
    minimal = {
        "timestamp": 1.5,
        "method": "POST",
        "path": "/v1/messages",
        "api": "anthropic",
        "model": "",
        "stream": False,
        "status": 200,
        "duration": 0.25,
        "client_ip": "::1",
        "user_agent": "",
        "token_source": "none",
        "from_a_newer_version": 1,
    }
    got = RequestRecord.from_json(json.dumps(minimal))
    assert got == RequestRecord(
        timestamp=1.5,
        method="POST",
        path="/v1/messages",
        api="anthropic",
        model="",
        stream=False,
        status=200,
        duration=0.25,
        ttfb=None,
        client_ip="::1",
        user_agent="",
        token_id=None,
        token_source="none",
    )
    assert (got.input_tokens, got.output_tokens, got.upstream_status, got.error) == (0, 0, 0, "")


@pytest.fixture
def shanghai_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("shanghai_time")
def test_log_entry() -> None:
    # 1_700_000_045.25 is 2023-11-14 22:14:05.250 UTC
    r = record(timestamp=1_700_000_045.25, duration=0.81234, ttfb=0.02049, input_tokens=3)
    assert r.log_entry() == {
        "timestamp": "2023-11-15T06:14:05.250+08:00",
        "method": "POST",
        "path": "/v1/chat/completions",
        "status": 200,
        "duration_ms": 812.3,
        "ttfb_ms": 20.5,
        "model": "GLM-4.7",
        "stream": True,
        "client_ip": "10.0.0.1",
        "user_agent": "OpenAI/Python 1.40",
        "token_display": "token:abababab",
        "token_source": "pool",
        "input_tokens": 3,
        "output_tokens": 0,
        "error": "",
    }
    assert R2.log_entry()["ttfb_ms"] is None
    assert R2.log_entry()["error"] == "upstream 500"
    assert record(timestamp=1_700_000_045.0).log_entry()["timestamp"] == (
        "2023-11-15T06:14:05.000+08:00"
    )


# --- the batch -----------------------------------------------------------------------------------


def test_batch_counters() -> None:
    c = stats_batch(RECORDS).counters
    assert len(c) == 72  # 3 + 2 histograms x 2 APIs x (13 buckets + sum + count) + 2 + 2 + 1 + 4

    assert c['zaiproxy_requests_total{api="openai",model="GLM-4.7",status="200"}'] == 1
    assert c['zaiproxy_requests_total{api="openai",model="GLM-4.7",status="502"}'] == 1
    assert c['zaiproxy_requests_total{api="anthropic",model="GLM-4.5",status="200"}'] == 2

    d = "zaiproxy_request_duration_seconds"
    assert buckets(c, d, "openai", DURATION_LE) == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2]
    assert buckets(c, d, "anthropic", DURATION_LE) == [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    assert c[f'{d}_sum{{api="openai"}}'] == pytest.approx(3.8)
    assert c[f'{d}_sum{{api="anthropic"}}'] == pytest.approx(12.05)
    assert c[f'{d}_count{{api="openai"}}'] == 2
    assert c[f'{d}_count{{api="anthropic"}}'] == 2

    t = "zaiproxy_time_to_first_byte_seconds"  # R2 sent no body: not observed
    assert buckets(c, t, "openai", TTFB_LE) == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    assert buckets(c, t, "anthropic", TTFB_LE) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]
    assert c[f'{t}_sum{{api="openai"}}'] == pytest.approx(0.02)
    assert c[f'{t}_sum{{api="anthropic"}}'] == pytest.approx(0.35)
    assert c[f'{t}_count{{api="openai"}}'] == 1
    assert c[f'{t}_count{{api="anthropic"}}'] == 2

    assert c['zaiproxy_input_tokens_total{model="GLM-4.7"}'] == 10
    assert c['zaiproxy_input_tokens_total{model="GLM-4.5"}'] == 6
    assert c['zaiproxy_output_tokens_total{model="GLM-4.7"}'] == 20
    assert c['zaiproxy_output_tokens_total{model="GLM-4.5"}'] == 9
    assert c['zaiproxy_upstream_errors_total{status="500"}'] == 1
    assert c['zaiproxy_token_requests_total{outcome="success",token="token:abababab"}'] == 1
    assert c['zaiproxy_token_requests_total{outcome="failure",token="token:abababab"}'] == 1
    assert c['zaiproxy_token_requests_total{outcome="failure",token="guest"}'] == 1
    assert c['zaiproxy_token_requests_total{outcome="success",token="none"}'] == 1


def test_histograms_are_cumulative_with_inf_equal_to_count() -> None:
    c = stats_batch(RECORDS).counters
    for name, bounds in (
        ("zaiproxy_request_duration_seconds", DURATION_LE),
        ("zaiproxy_time_to_first_byte_seconds", TTFB_LE),
    ):
        for api in ("openai", "anthropic"):
            values = buckets(c, name, api, bounds)
            assert values == sorted(values)
            assert values[-1] == c[f'{name}_count{{api="{api}"}}']


def test_batch_series_and_recent() -> None:
    batch = stats_batch(RECORDS)
    assert set(batch.series) == {T0, T0 + 60}
    first, second = batch.series[T0], batch.series[T0 + 60]
    assert {k: first[k] for k in ("requests", "success", "failure", "ttfb_count")} == {
        "requests": 2,
        "success": 1,
        "failure": 1,
        "ttfb_count": 1,
    }
    assert first["duration_sum"] == pytest.approx(3.8)
    assert first["ttfb_sum"] == pytest.approx(0.02)
    assert (first["input_tokens"], first["output_tokens"]) == (10, 20)
    assert {k: second[k] for k in ("requests", "success", "failure", "ttfb_count")} == {
        "requests": 2,
        "success": 1,
        "failure": 1,
        "ttfb_count": 2,
    }
    assert second["duration_sum"] == pytest.approx(12.05)
    assert second["ttfb_sum"] == pytest.approx(0.35)
    assert (second["input_tokens"], second["output_tokens"]) == (6, 9)

    assert list(batch.recent) == [r.to_json() for r in RECORDS]
    assert stats_batch([]).counters == {}


# --- counter names -------------------------------------------------------------------------------


def test_label_escaping_round_trip() -> None:
    tricky = 'a "quoted" back\\slash\nnewline, le="1"}'
    key = sample_key("zaiproxy_requests", {"model": tricky, "api": "openai"})
    assert (
        key
        == r'zaiproxy_requests{api="openai",model="a \"quoted\" back\\slash\nnewline, le=\"1\"}"}'
    )

    assert parse_key(key) == ("zaiproxy_requests", {"api": "openai", "model": tricky})
    assert parse_key("zaiproxy_up") == ("zaiproxy_up", {})
    assert sample_key("zaiproxy_up", {}) == "zaiproxy_up"
    with pytest.raises(ValueError):
        parse_key('zaiproxy_up{api="x"')
    with pytest.raises(ValueError):
        parse_key('zaiproxy_up{api="x" y}')

    # through a batch, the views and the exposition
    c = stats_batch([record(model=tricky)]).counters
    assert [m.model for m in statistics(c).models] == [tricky]
    families = {f.name: f for f in text_string_to_metric_families(render_prometheus(c))}
    assert families["zaiproxy_requests"].samples[0].labels["model"] == tricky


# --- views from the summed counters of two processes ---------------------------------------------


def two_processes() -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    a, b = stats_batch([R1, R2, R3]), stats_batch([R4, R1])
    series = {m: summed(a.series.get(m, {}), b.series.get(m, {})) for m in {*a.series, *b.series}}
    return summed(a.counters, b.counters), series


def test_statistics_from_two_processes() -> None:
    counters, _ = two_processes()
    s = statistics(counters)
    assert s.totals.total_requests == 5
    assert s.totals.success_requests == 3  # R1 twice, R4
    assert s.totals.failure_requests == 2  # R2 (502), R3 (broken stream)
    assert s.totals.success_rate == pytest.approx(0.6)
    # durations 0.8 + 3.0 + 12.0 + 0.05 + 0.8 = 16.65 s over 5; ttfb 0.02 + 0.3 + 0.05 + 0.02
    # = 0.39 s over 4
    assert s.totals.average_response_time_ms == 3330.0
    assert s.totals.average_ttfb_ms == 97.5
    assert (s.totals.input_tokens, s.totals.output_tokens) == (26, 49)
    assert s.models == [
        ModelTotals("GLM-4.7", requests=3, failures=1, input_tokens=20, output_tokens=40),
        # R3 failed after its 200: a failure of the request, not an HTTP error of the model
        ModelTotals("GLM-4.5", requests=2, failures=0, input_tokens=6, output_tokens=9),
    ]
    assert s.tokens == {"guest": (0, 1), "none": (1, 0), "token:abababab": (2, 1)}
    assert s.to_json() == {
        "stats": {
            "total_requests": 5,
            "success_requests": 3,
            "failure_requests": 2,
            "success_rate": 0.6,
            "average_response_time": 3330.0,
            "average_ttfb": 97.5,
            "input_tokens": 26,
            "output_tokens": 49,
        },
        "models": [
            {
                "model": "GLM-4.7",
                "requests": 3,
                "failures": 1,
                "input_tokens": 20,
                "output_tokens": 40,
            },
            {
                "model": "GLM-4.5",
                "requests": 2,
                "failures": 0,
                "input_tokens": 6,
                "output_tokens": 9,
            },
        ],
    }


def test_statistics_of_nothing() -> None:
    s = statistics({})
    assert s.totals == Totals()
    assert (s.models, s.tokens) == ([], {})
    assert s.totals.success_rate == 1.0
    assert s.totals.average_response_time_ms == 0.0
    assert s.totals.average_ttfb_ms == 0.0


def test_series_points_zero_fill_and_averages() -> None:
    _, series = two_processes()
    points = series_points(series, end_minute=T0 + 180, minutes=5)
    zero = {
        "requests": 0,
        "success": 0,
        "failure": 0,
        "average_response_time": 0.0,
        "average_ttfb": 0.0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    assert points == [
        {"minute": T0 - 60, **zero},
        {  # R1, R2 and R1 again (the second process): durations 0.8 + 3.0 + 0.8, ttfb 0.02 + 0.02
            "minute": T0,
            "requests": 3,
            "success": 2,
            "failure": 1,
            "average_response_time": 1533.3,
            "average_ttfb": 20.0,
            "input_tokens": 20,
            "output_tokens": 40,
        },
        {  # R3, R4: durations 12.0 + 0.05, ttfb 0.3 + 0.05
            "minute": T0 + 60,
            "requests": 2,
            "success": 1,
            "failure": 1,
            "average_response_time": 6025.0,
            "average_ttfb": 175.0,
            "input_tokens": 6,
            "output_tokens": 9,
        },
        {"minute": T0 + 120, **zero},
        {"minute": T0 + 180, **zero},
    ]
    counts = ("requests", "success", "failure", "input_tokens", "output_tokens")
    assert all(type(p[k]) is int for p in points for k in counts)
    assert series_points({}, end_minute=T0, minutes=1) == [{"minute": T0, **zero}]
    assert series_points({}, end_minute=T0 + 59, minutes=1) == [{"minute": T0, **zero}]


# --- Prometheus exposition -----------------------------------------------------------------------

FAMILY_TYPES = [
    ("zaiproxy_requests", "counter"),
    ("zaiproxy_request_duration_seconds", "histogram"),
    ("zaiproxy_time_to_first_byte_seconds", "histogram"),
    ("zaiproxy_input_tokens", "counter"),
    ("zaiproxy_output_tokens", "counter"),
    ("zaiproxy_upstream_errors", "counter"),
    ("zaiproxy_token_requests", "counter"),
]


def test_render_prometheus_parses() -> None:
    counters, _ = two_processes()
    pool = Gauge(
        "zaiproxy_pool_tokens",
        "Pool tokens by state.",
        [({"state": "healthy"}, 2), ({"state": "cooling"}, 1)],
    )
    up = Gauge("zaiproxy_up", "1 while the proxy serves.\nSecond line \\ here.", [({}, 1)])
    text = render_prometheus(counters, [pool, up])
    assert text.endswith("zaiproxy_up 1\n")

    families = list(text_string_to_metric_families(text))
    assert [(f.name, f.type) for f in families] == [
        *FAMILY_TYPES,
        ("zaiproxy_pool_tokens", "gauge"),
        ("zaiproxy_up", "gauge"),
    ]
    by_name = {f.name: f for f in families}
    assert all(f.documentation for f in families)
    assert by_name["zaiproxy_up"].documentation == "1 while the proxy serves.\nSecond line \\ here."

    def values(family: str) -> dict:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in by_name[family].samples}

    requests = "zaiproxy_requests_total"
    assert values("zaiproxy_requests") == {
        (requests, (("api", "anthropic"), ("model", "GLM-4.5"), ("status", "200"))): 2,
        (requests, (("api", "openai"), ("model", "GLM-4.7"), ("status", "200"))): 2,
        (requests, (("api", "openai"), ("model", "GLM-4.7"), ("status", "502"))): 1,
    }
    assert values("zaiproxy_upstream_errors") == {
        ("zaiproxy_upstream_errors_total", (("status", "500"),)): 1
    }
    assert (
        values("zaiproxy_token_requests")[
            ("zaiproxy_token_requests_total", (("outcome", "success"), ("token", "token:abababab")))
        ]
        == 2
    )
    assert values("zaiproxy_pool_tokens") == {
        ("zaiproxy_pool_tokens", (("state", "cooling"),)): 1,
        ("zaiproxy_pool_tokens", (("state", "healthy"),)): 2,
    }
    assert values("zaiproxy_up") == {("zaiproxy_up", ()): 1}

    # openai durations: 0.8, 3.0, 0.8; per label set the buckets by bound, +Inf last, sum, count
    openai = [
        (s.name, s.labels.get("le"), s.value)
        for s in by_name["zaiproxy_request_duration_seconds"].samples
        if s.labels["api"] == "openai"
    ]
    assert [le for _, le, _ in openai[:13]] == [*DURATION_LE, "+Inf"]
    assert [v for _, _, v in openai[:13]] == [0, 0, 0, 0, 2, 2, 3, 3, 3, 3, 3, 3, 3]
    assert [name for name, _, _ in openai[13:]] == [
        "zaiproxy_request_duration_seconds_sum",
        "zaiproxy_request_duration_seconds_count",
    ]
    assert openai[13][2] == pytest.approx(4.6)
    assert openai[14][2] == 3

    # integers print without ".0"
    assert 'zaiproxy_requests_total{api="openai",model="GLM-4.7",status="200"} 2\n' in text
    assert 'zaiproxy_pool_tokens{state="healthy"} 2\n' in text
    assert 'zaiproxy_time_to_first_byte_seconds_bucket{api="openai",le="1"} 2\n' in text


def test_render_prometheus_before_the_first_request() -> None:
    text = render_prometheus({})
    assert text.endswith("\n")
    assert text.count("# HELP ") == text.count("# TYPE ") == len(FAMILY_TYPES)
    families = list(text_string_to_metric_families(text))
    assert [(f.name, f.type) for f in families] == FAMILY_TYPES
    assert all(not f.samples for f in families)

    empty_gauge = render_prometheus({}, [Gauge("zaiproxy_pool_tokens", "Pool tokens.", [])])
    assert empty_gauge.endswith("# TYPE zaiproxy_pool_tokens gauge\n")


def test_render_prometheus_keeps_counters_it_does_not_know() -> None:
    text = render_prometheus({'zaiproxy_future_total{kind="x"}': 3})
    families = list(text_string_to_metric_families(text))
    assert families[-1].name == "zaiproxy_future_total"
    assert families[-1].samples[0].value == 3
