"""Request statistics: the request-log record, its aggregation into named counters, the views
computed back from those counters, and the Prometheus text exposition.

Several processes add their batches to one store, which simply sums counters of the same name.
So everything here is a sum: histograms are cumulative bucket counters, averages are sum/count,
and a counter's name is the Prometheus sample it renders as (``name{label="value",...}``, labels
sorted), so one parser turns the store's keys back into metrics and dashboard figures.
Pure functions, no I/O.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import json
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from zaiproxy.tokens.store import StatsBatch

# ── metric families ──

REQUESTS = "zaiproxy_requests_total"
DURATION = "zaiproxy_request_duration_seconds"
TTFB = "zaiproxy_time_to_first_byte_seconds"
INPUT_TOKENS = "zaiproxy_input_tokens_total"
OUTPUT_TOKENS = "zaiproxy_output_tokens_total"
UPSTREAM_ERRORS = "zaiproxy_upstream_errors_total"
TOKEN_REQUESTS = "zaiproxy_token_requests_total"

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TTFB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# (name, type, help) in the order /metrics lists them.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    (REQUESTS, "counter", "Client requests by API, model and HTTP status."),
    (DURATION, "histogram", "Time from a request's arrival to its last byte, by API."),
    (TTFB, "histogram", "Time from a request's arrival to its first body byte, by API."),
    (INPUT_TOKENS, "counter", "Prompt tokens reported by the upstream, by model."),
    (OUTPUT_TOKENS, "counter", "Completion tokens reported by the upstream, by model."),
    (UPSTREAM_ERRORS, "counter", "Failed upstream calls by upstream HTTP status."),
    (TOKEN_REQUESTS, "counter", "Requests by pool token (masked) and outcome."),
)
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Per-minute series fields (StatsBatch.series).
SERIES_FIELDS = (
    "requests",
    "success",
    "failure",
    "duration_sum",
    "ttfb_sum",
    "ttfb_count",
    "input_tokens",
    "output_tokens",
)

GUEST_DISPLAY = "guest"  # a guest session's place where a token's display would be
OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"


# ── the request-log record ──


@dataclass  # not frozen: a frozen dataclass's __init__ costs five times as much, per request
class RequestRecord:
    """One finished client request (treated as immutable)."""

    timestamp: float  # epoch seconds at arrival
    method: str
    path: str  # client-facing, e.g. /v1/chat/completions
    api: str  # "openai" | "anthropic"
    model: str
    stream: bool
    status: int  # sent to the client
    duration: float  # seconds, arrival to last byte
    ttfb: float | None  # seconds to the first body byte; None when no body went out
    client_ip: str
    user_agent: str
    token_id: str | None  # the pool token's id; None for a guest session or no token
    token_source: str  # "pool" | "anonymous" | "none"
    input_tokens: int = 0
    output_tokens: int = 0
    upstream_status: int = 0  # the upstream's status when the upstream failed, else 0
    error: str = ""  # also set when a stream failed mid-way after a 200

    @property
    def success(self) -> bool:
        return self.status < 400 and not self.error

    @property
    def token_display(self) -> str:
        if self.token_id is not None:
            return "token:" + self.token_id[:8]
        return GUEST_DISPLAY if self.token_source == "anonymous" else "none"

    def to_json(self) -> str:
        # Not dataclasses.asdict, which deep-copies every value: this runs for every request.
        return _ENCODER.encode({name: getattr(self, name) for name in _RECORD_FIELD_NAMES})

    @classmethod
    def from_json(cls, text: str) -> RequestRecord:
        """Reads ``to_json``'s output; fields with a default (and the nullable ``ttfb`` and
        ``token_id``) may be missing, unknown keys are ignored (entries of other versions)."""
        data = json.loads(text)
        values: dict[str, Any] = {"ttfb": None, "token_id": None}
        values.update({f.name: data[f.name] for f in _RECORD_FIELDS if f.name in data})
        return cls(**values)

    def log_entry(self) -> dict[str, Any]:
        """The dashboard's recent-request object."""
        return {
            "timestamp": local_time(self.timestamp),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": milliseconds(self.duration),
            "ttfb_ms": None if self.ttfb is None else milliseconds(self.ttfb),
            "model": self.model,
            "stream": self.stream,
            "client_ip": self.client_ip,
            "user_agent": self.user_agent,
            "token_display": self.token_display,
            "token_source": self.token_source,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "error": self.error,
        }


_RECORD_FIELDS = dataclasses.fields(RequestRecord)
_RECORD_FIELD_NAMES = tuple(f.name for f in _RECORD_FIELDS)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def milliseconds(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def local_time(moment: float, timespec: str = "milliseconds") -> str:
    """Local time with its offset, as the older proxies printed it."""
    return datetime.fromtimestamp(moment, timezone.utc).astimezone().isoformat(timespec=timespec)


# ── counter names: one format, one parser ──


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_KEY = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", re.DOTALL)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|\Z)', re.DOTALL)


def _unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m[1] == "n" else m[1], value)


def sample_key(name: str, labels: Mapping[str, str]) -> str:
    """``name{a="x",b="y"}`` with sorted, escaped labels; ``name`` alone without labels."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(labels[k])}"' for k in sorted(labels))
    return f"{name}{{{inner}}}"


def parse_key(key: str) -> tuple[str, dict[str, str]]:
    """The inverse of ``sample_key``: (name, labels). ValueError when ``key`` is no sample name."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"not a sample name: {key!r}")
    name, inner = match[1], match[2]
    labels: dict[str, str] = {}
    pos = 0
    while inner and pos < len(inner):
        label = _LABEL.match(inner, pos)
        if label is None:
            raise ValueError(f"bad labels in sample name: {key!r}")
        labels[label[1]] = _unescape(label[2])
        pos = label.end()
    return name, labels


def format_number(value: float) -> str:
    """A sample value or bucket bound: integers without ".0", Prometheus' spellings of the
    non-finite values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


# ── aggregation ──


# The same few label sets repeat for every request: their sample names are made once.
@functools.lru_cache(maxsize=4096)
def _sample(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    return sample_key(name, dict(labels))


@functools.lru_cache(maxsize=256)
def _histogram_names(
    name: str, buckets: tuple[float, ...], labels: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, ...], str, str]:
    """A histogram's sample names: its buckets by bound (+Inf last), its sum, its count."""
    bucket_labels = dict(labels)
    bounds = [format_number(bound) for bound in buckets] + ["+Inf"]
    return (
        tuple(sample_key(name + "_bucket", {**bucket_labels, "le": le}) for le in bounds),
        sample_key(name + "_sum", bucket_labels),
        sample_key(name + "_count", bucket_labels),
    )


class _Histogram:
    """One label set's observations of a batch: a count per bucket (not cumulative: one
    increment per observation), made cumulative once, when the batch is taken."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.slots = [0] * (len(buckets) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.slots[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value

    def add_to(
        self, counters: dict[str, float], name: str, labels: tuple[tuple[str, str], ...]
    ) -> None:
        bucket_names, total_name, count_name = _histogram_names(name, self.buckets, labels)
        # Every bucket is written, zeros included, so a histogram is always complete.
        cumulative = 0
        for bucket_name, count in zip(bucket_names, self.slots):
            cumulative += count
            counters[bucket_name] += cumulative
        counters[total_name] += self.total
        counters[count_name] += cumulative


class StatsAccumulator:
    """Records added one at a time (each request pays for its own, instead of one flush paying
    for many at once), taken out as one StatsBatch."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._counters: dict[str, float] = defaultdict(float)
        self._histograms: dict[tuple[str, tuple[tuple[str, str], ...]], _Histogram] = {}
        self._series: dict[int, dict[str, float]] = {}
        self._records: list[RequestRecord] = []

    def __len__(self) -> int:
        return len(self._records)

    def add(self, r: RequestRecord) -> None:
        counters = self._counters
        api = (("api", r.api),)
        model = (("model", r.model),)
        counters[_sample(REQUESTS, (*api, *model, ("status", str(r.status))))] += 1
        self._observe(DURATION, DURATION_BUCKETS, api, r.duration)
        if r.ttfb is not None:
            self._observe(TTFB, TTFB_BUCKETS, api, r.ttfb)
        counters[_sample(INPUT_TOKENS, model)] += r.input_tokens
        counters[_sample(OUTPUT_TOKENS, model)] += r.output_tokens
        if r.upstream_status:
            counters[_sample(UPSTREAM_ERRORS, (("status", str(r.upstream_status)),))] += 1
        outcome = OUTCOME_SUCCESS if r.success else OUTCOME_FAILURE
        counters[_sample(TOKEN_REQUESTS, (("outcome", outcome), ("token", r.token_display)))] += 1

        minute = self._series.setdefault(
            int(r.timestamp // 60 * 60), dict.fromkeys(SERIES_FIELDS, 0)
        )
        minute["requests"] += 1
        minute["success" if r.success else "failure"] += 1
        minute["duration_sum"] += r.duration
        if r.ttfb is not None:
            minute["ttfb_sum"] += r.ttfb
            minute["ttfb_count"] += 1
        minute["input_tokens"] += r.input_tokens
        minute["output_tokens"] += r.output_tokens
        self._records.append(r)

    def _observe(
        self,
        name: str,
        buckets: tuple[float, ...],
        labels: tuple[tuple[str, str], ...],
        value: float,
    ) -> None:
        histogram = self._histograms.get((name, labels))
        if histogram is None:
            histogram = self._histograms[name, labels] = _Histogram(buckets)
        histogram.observe(value)

    def take(self, recent_limit: int | None = None) -> StatsBatch:
        """What was added since the last take; only the newest ``recent_limit`` records are
        encoded for the log (encoding is most of a record's cost, and the store keeps no more)."""
        for (name, labels), histogram in self._histograms.items():
            histogram.add_to(self._counters, name, labels)
        logged = self._records if recent_limit is None else self._records[-recent_limit:]
        batch = StatsBatch(
            counters=dict(self._counters),
            series=self._series,
            recent=[record.to_json() for record in logged] if recent_limit != 0 else [],
        )
        self._clear()
        return batch


def stats_batch(records: Sequence[RequestRecord]) -> StatsBatch:
    """The counters, per-minute series and log entries of ``records``."""
    accumulator = StatsAccumulator()
    for record in records:
        accumulator.add(record)
    return accumulator.take()


# ── views computed back from the counters ──


def _average_ms(total_seconds: float, count: float) -> float:
    return milliseconds(total_seconds / count) if count else 0.0


@dataclass
class Totals:
    total_requests: int = 0
    success_requests: int = 0
    failure_requests: int = 0
    duration_sum: float = 0.0  # seconds
    ttfb_sum: float = 0.0  # seconds
    ttfb_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def average_response_time_ms(self) -> float:
        return _average_ms(self.duration_sum, self.total_requests)

    @property
    def average_ttfb_ms(self) -> float:
        return _average_ms(self.ttfb_sum, self.ttfb_count)

    @property
    def success_rate(self) -> float:
        if not self.total_requests:
            return 1.0
        return self.success_requests / self.total_requests


@dataclass
class ModelTotals:
    model: str
    requests: int = 0
    failures: int = 0  # answered with an HTTP error status (a stream failing after 200 is not)
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Statistics:
    totals: Totals
    models: list[ModelTotals]  # by requests, most first
    tokens: dict[str, tuple[int, int]]  # token_display -> (success, failure)

    def to_json(self) -> dict[str, Any]:
        t = self.totals
        return {
            "stats": {
                "total_requests": t.total_requests,
                "success_requests": t.success_requests,
                "failure_requests": t.failure_requests,
                "success_rate": round(t.success_rate, 4),
                "average_response_time": t.average_response_time_ms,
                "average_ttfb": t.average_ttfb_ms,
                "input_tokens": t.input_tokens,
                "output_tokens": t.output_tokens,
            },
            "models": [dataclasses.asdict(m) for m in self.models],
        }


def statistics(counters: Mapping[str, float]) -> Statistics:
    """Totals, per-model and per-token figures from the (summed) counters."""
    totals = Totals()
    models: dict[str, ModelTotals] = {}
    tokens: dict[str, list[int]] = {}
    for key, value in counters.items():
        name, labels = parse_key(key)
        count = round(value)
        if name == REQUESTS:
            model = models.setdefault(labels["model"], ModelTotals(labels["model"]))
            model.requests += count
            if int(labels["status"]) >= 400:
                model.failures += count
            totals.total_requests += count
        elif name in (INPUT_TOKENS, OUTPUT_TOKENS):
            model = models.setdefault(labels["model"], ModelTotals(labels["model"]))
            if name == INPUT_TOKENS:
                model.input_tokens += count
                totals.input_tokens += count
            else:
                model.output_tokens += count
                totals.output_tokens += count
        elif name == TOKEN_REQUESTS:
            pair = tokens.setdefault(labels["token"], [0, 0])
            success = labels["outcome"] == OUTCOME_SUCCESS
            pair[0 if success else 1] += count
            if success:
                totals.success_requests += count
            else:
                totals.failure_requests += count
        elif name == DURATION + "_sum":
            totals.duration_sum += value
        elif name == TTFB + "_sum":
            totals.ttfb_sum += value
        elif name == TTFB + "_count":
            totals.ttfb_count += count
    return Statistics(
        totals=totals,
        models=sorted(models.values(), key=lambda m: (-m.requests, m.model)),
        tokens={display: (s, f) for display, (s, f) in sorted(tokens.items())},
    )


def series_points(
    buckets: Mapping[int, Mapping[str, float]], *, end_minute: int, minutes: int
) -> list[dict[str, Any]]:
    """One point per minute, oldest first, the last one the minute ``end_minute`` falls in;
    minutes without requests are zeros."""
    end = end_minute - end_minute % 60
    points = []
    for minute in range(end - (minutes - 1) * 60, end + 1, 60):
        b = buckets.get(minute, {})
        requests = b.get("requests", 0)
        points.append(
            {
                "minute": minute,
                "requests": round(requests),
                "success": round(b.get("success", 0)),
                "failure": round(b.get("failure", 0)),
                "average_response_time": _average_ms(b.get("duration_sum", 0.0), requests),
                "average_ttfb": _average_ms(b.get("ttfb_sum", 0.0), b.get("ttfb_count", 0)),
                "input_tokens": round(b.get("input_tokens", 0)),
                "output_tokens": round(b.get("output_tokens", 0)),
            }
        )
    return points


# ── Prometheus text exposition (format 0.0.4) ──

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Gauge:
    """A point-in-time family the caller measures (e.g. zaiproxy_pool_tokens{state=...})."""

    name: str
    help: str
    samples: Sequence[tuple[Mapping[str, str], float]] = ()


def _help_lines(name: str, kind: str, help_text: str) -> list[str]:
    escaped = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    return [f"# HELP {name} {escaped}", f"# TYPE {name} {kind}"]


def _sample_line(name: str, labels: Mapping[str, str], value: float) -> str:
    return f"{sample_key(name, labels)} {format_number(value)}"


def _by_labels(sample: tuple[str, dict[str, str], float]) -> list[tuple[str, str]]:
    return sorted(sample[1].items())


def _histogram_order(sample: tuple[str, dict[str, str], float]) -> tuple:
    """Per label set: the buckets by bound (+Inf last), then _sum, then _count."""
    name, labels, _ = sample
    group = sorted((k, v) for k, v in labels.items() if k != "le")
    suffix = _HISTOGRAM_SUFFIXES.index(name[name.rindex("_") :])
    return (group, suffix, float(labels.get("le", 0)))  # float("+Inf") sorts last


def render_prometheus(counters: Mapping[str, float], gauges: Sequence[Gauge] = ()) -> str:
    """Every family with its HELP and TYPE (also before its first sample), samples grouped
    under it; counters of names this version does not know come last, as untyped."""
    family_of: dict[str, str] = {}
    for name, kind, _ in FAMILIES:
        suffixes = _HISTOGRAM_SUFFIXES if kind == "histogram" else ("",)
        family_of.update({name + suffix: name for suffix in suffixes})

    grouped: dict[str, list[tuple[str, dict[str, str], float]]] = defaultdict(list)
    for key, value in counters.items():
        name, labels = parse_key(key)
        grouped[family_of.get(name, name)].append((name, labels, value))

    lines: list[str] = []
    for name, kind, help_text in FAMILIES:
        lines += _help_lines(name, kind, help_text)
        order = _histogram_order if kind == "histogram" else _by_labels
        lines += [_sample_line(*s) for s in sorted(grouped.pop(name, ()), key=order)]
    for gauge in gauges:
        lines += _help_lines(gauge.name, "gauge", gauge.help)
        lines += [_sample_line(gauge.name, labels, value) for labels, value in gauge.samples]
    for name in sorted(grouped):
        lines.append(f"# TYPE {name} untyped")
        lines += [_sample_line(*s) for s in sorted(grouped[name], key=_by_labels)]
    return "\n".join(lines) + "\n"
