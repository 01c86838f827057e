"""Benchmark of the proxy server against the mock chat.z.ai, next to the same load sent straight to
the mock, in one run.

Three processes share the machine: the mock (`python -m zaiproxy.testing`), the proxy
(`zaiproxy.server:app` under Granian, one worker) and the load generator (this file with
--client: the C++ engine reading raw responses, many streams on one asyncio loop), so the client
is not the proxy's bottleneck. Every phase starts a mock and a proxy of its own:

  ttfb        pairs of (direct, proxy) requests at low concurrency: the added time to first byte
  throughput  N streams x E events at once: chunks/s direct and via the proxy; proxy CPU per chunk
  memory      K streams held open on a stalling mock: proxy worker RSS per open stream
  drip        S streams, an event every I ms: inter-chunk gap minus I, direct and via the proxy

    .venv/bin/python bench/proxy.py            # the full run
    .venv/bin/python bench/proxy.py --quick    # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    CLOCK_TICKS,
    MODEL,
    EventCounter,
    Mock,
    child_pids,
    completions,
    cpu_seconds,
    established_to_port,
    mock_process,
    percentile,
    process_cpu,
    raise_fd_limit,
    resident_bytes,
    run_fast,
    start_time,
    stop_process,
    wait_until,
)

from zaiproxy import core
from zaiproxy.upstream.engine import EngineSettings, UpstreamEngine

DONE = b"data: [DONE]\n\n"
GOAL_TTFB_MS = 1.0
GOAL_CHUNKS_PER_SECOND = 50_000
GOAL_STREAMS = 1000
GOAL_GAP_P99_MS = 20.0


# ================================================================ the load generator (--client)


def proxy_request(url: str) -> core.HttpRequest:
    """The OpenAI request a client sends the proxy (any bearer key: the proxy skips auth)."""
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    return core.HttpRequest(
        method="POST",
        url=url + "/v1/chat/completions",
        headers=[("Content-Type", "application/json"), ("Authorization", "Bearer sk-bench")],
        body=json.dumps(body).encode(),
    )


def requests_for(target: str, url: str, count: int) -> list[core.HttpRequest]:
    """`count` requests to the proxy, or signed completions straight to the mock."""
    if target == "proxy":
        request = proxy_request(url)
        return [request] * count  # open() copies the request
    return completions(url, count)


@dataclass
class StreamResult:
    """What the client saw of one response."""

    ok: bool = False
    events: int = 0  # SSE data events, `data: [DONE]` excluded
    opened: float = 0.0  # perf_counter() at open
    first: float = math.nan  # seconds from open to the first data event
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (arrival, gap) in seconds
    error: str = ""


async def read_stream(
    engine: UpstreamEngine, request: core.HttpRequest, expect: int, keep_gaps: bool
) -> StreamResult:
    """Reads one raw response to its end, counting data events as they arrive.

    A gap is the time between two reads that brought data events: with a drip, every event
    arrives on its own, and events that arrive together (a late one caught up) hide a short gap
    but never the long one before them. Only the first `expect` events (the content deltas)
    count: the upstream's usage and done events need not each become a chunk of their own (the
    proxy sends its last chunks at the done event), which would show as one long gap per stream.
    """
    result = StreamResult()
    counter = EventCounter()
    tail = b""
    opened = last = result.opened = time.perf_counter()
    try:
        async with engine.stream(request) as stream:
            status = stream.status
            async for data in stream:
                now = time.perf_counter()
                if counter.feed(data):
                    if math.isnan(result.first):
                        result.first = now - opened
                    elif keep_gaps and counter.events <= expect:
                        result.gaps.append((now, now - last))
                    last = now
                tail = (tail + data)[-64:]
    except Exception as error:  # the failure is the figure: counted, not raised
        result.error = f"{type(error).__name__}: {error}"
        result.events = counter.events
        return result
    result.events = counter.events - tail.endswith(DONE)
    if status != 200:
        result.error = f"HTTP {status}"
    elif result.events < expect:
        result.error = f"{result.events} events, expected at least {expect}"
    result.ok = not result.error
    return result


def client_engine(receive_buffer: int, timeout: float) -> UpstreamEngine:
    return UpstreamEngine(
        EngineSettings(
            receive_buffer_bytes=receive_buffer,
            connect_timeout=timeout,
            first_byte_timeout=timeout,
            idle_timeout=timeout,
        )
    )


def summarize(values: Sequence[float]) -> dict[str, float]:
    """p50, p99, max (in seconds) and the count of some figures."""
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 0.5),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else math.nan,
    }


async def client_load(spec: dict[str, Any]) -> dict[str, Any]:
    """N streams to one target, opened evenly over `ramp` seconds, read to their end."""
    engine = client_engine(spec["receive_buffer"], spec["timeout"])
    count, ramp, interval = spec["streams"], spec["ramp"], spec["interval"]
    requests = requests_for(spec["target"], spec["url"], count)
    results: list[StreamResult] = []
    open_now = peak = 0
    first_end = math.inf

    async def one(number: int, request: core.HttpRequest) -> None:
        nonlocal open_now, peak, first_end
        if ramp:
            await asyncio.sleep(ramp * number / count)
        open_now += 1
        peak = max(peak, open_now)
        try:
            results.append(await read_stream(engine, request, spec["expect"], interval > 0))
        finally:
            open_now -= 1
            first_end = min(first_end, time.perf_counter())

    cpu, started = process_cpu(), time.perf_counter()
    tasks = [asyncio.ensure_future(one(n, r)) for n, r in enumerate(requests)]
    _, pending = await asyncio.wait(tasks, timeout=spec["deadline"])
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - started
    client_cpu = process_cpu() - cpu
    engine.close()

    # The window in which every stream was open: after the last stream's first event, before the
    # first stream ended.
    firsts = [r.opened + r.first for r in results if not math.isnan(r.first)]
    held_from = max(firsts, default=math.inf)
    gaps = [gap - interval for r in results for _, gap in r.gaps]
    held = [gap - interval for r in results for at, gap in r.gaps if held_from < at < first_end]
    errors = sorted({r.error for r in results if r.error})
    return {
        "streams": count,
        "ok": sum(r.ok for r in results),
        "failed": count - sum(r.ok for r in results),
        "timed_out": len(pending),
        "errors": errors[:5],
        "events": sum(r.events for r in results),
        "wall": wall,
        "client_cpu": client_cpu,
        "peak_open": peak,
        "first": summarize([r.first for r in results if not math.isnan(r.first)]),
        "gaps": summarize(gaps),
        "held_gaps": summarize(held),
    }


async def client_ttfb(spec: dict[str, Any]) -> dict[str, Any]:
    """Pairs of one direct and one proxy request, back to back (the order alternates), with
    `concurrency` pairs in flight: the difference of each pair is latency the proxy adds, not
    queueing."""
    engine = client_engine(spec["receive_buffer"], spec["timeout"])
    total = spec["count"] + spec["warm"]
    direct = completions(spec["mock"], total)
    proxy = proxy_request(spec["proxy"])
    pairs: list[tuple[float, float]] = []
    errors: list[str] = []
    numbers = iter(range(total))
    deadline = time.monotonic() + spec["deadline"]

    async def worker() -> None:
        for number in numbers:
            if time.monotonic() > deadline:
                errors.append("deadline")
                return
            first: dict[str, float] = {}
            order = ("direct", "proxy") if number % 2 else ("proxy", "direct")
            for target in order:
                request = direct[number] if target == "direct" else proxy
                result = await read_stream(engine, request, spec["expect"], False)
                if not result.ok:
                    errors.append(f"{target}: {result.error}")
                first[target] = result.first
            if number >= spec["warm"] and not any(map(math.isnan, first.values())):
                pairs.append((first["direct"], first["proxy"]))

    await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
    engine.close()
    return {"pairs": pairs, "failed": len(errors), "errors": sorted(set(errors))[:5]}


def client_idle(spec: dict[str, Any]) -> dict[str, Any]:
    """Opens `warm` streams, says "warm", waits for "go"; opens `streams` more, says "open", waits
    for "close". The orchestrator reads the proxy's memory meanwhile."""
    engine = core.Engine(
        receive_buffer_bytes=spec["receive_buffer"],
        first_byte_timeout=spec["timeout"],
        idle_timeout=spec["timeout"],
    )
    requests = requests_for(spec["target"], spec["url"], spec["warm"] + spec["streams"])
    streams = [engine.open(request, None) for request in requests[: spec["warm"]]]
    try:
        say("warm", {})
        if expect_line("go", spec["timeout"]):
            streams += [engine.open(request, None) for request in requests[spec["warm"] :]]
            # A proxy may hold its response head back until the upstream's first byte; then the
            # statuses stay 0 and the orchestrator counts upstream connections instead.
            wait_until(lambda: all(s.status for s in streams), spec["settle"])
            say("open", {"status_200": sum(s.status == 200 for s in streams)})
            expect_line("close", spec["timeout"])
        stats = engine.stats()
        return {"active": stats["active"], "failed": stats["failed"], "opened": stats["opened"]}
    finally:
        for stream in streams:
            stream.cancel()
        engine.stop()


def say(word: str, figures: dict[str, Any]) -> None:
    print(word, json.dumps(figures), flush=True)


def expect_line(word: str, timeout: float) -> bool:
    """True once stdin says `word`; False on a timeout or EOF (the orchestrator is gone)."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and sys.stdin.readline().strip() == word


def run_client(spec: dict[str, Any]) -> int:
    raise_fd_limit()
    kind = spec["kind"]
    if kind == "idle":
        figures = client_idle(spec)
    else:
        figures = run_fast(client_load(spec) if kind == "load" else client_ttfb(spec))
    say("result", figures)
    return 0


# ================================================================ the orchestrator


def granian() -> str:
    beside = Path(sys.executable).parent / "granian"
    return str(beside) if beside.exists() else "granian"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Proxy:
    """The Granian main process and its worker(s), with their start times (pid reuse)."""

    process: subprocess.Popen[str]
    url: str
    workers: list[tuple[int, int]] = field(default_factory=list)

    def pids(self) -> list[int]:
        """The main process and the workers, each once (uvicorn's main process is its worker)."""
        return list(dict.fromkeys([self.process.pid] + [pid for pid, _ in self.workers]))

    def cpu_seconds(self) -> float:
        """User + system CPU of the main process and the workers so far."""
        return sum(cpu_seconds(pid) for pid in self.pids())

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the workers."""
        user = system = 0.0
        for pid, _ in self.workers:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            user += int(fields[11]) / CLOCK_TICKS
            system += int(fields[12]) / CLOCK_TICKS
        return user, system

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds of the workers' threads by name (what the time went to): the main thread
        runs Python; the engine's and Granian's own threads keep the process's name."""
        by_name: dict[str, float] = {}
        for pid, _ in self.workers:
            for task in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{task}/stat") as stat:
                        text = stat.read()
                except OSError:
                    continue
                name = text[text.index("(") + 1 : text.rindex(")")]
                name = "main (Python)" if int(task) == pid else name
                fields = text.rsplit(")", 1)[1].split()
                seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
                by_name[name] = by_name.get(name, 0.0) + seconds
        return by_name

    def worker_rss(self) -> int:
        return sum(resident_bytes(pid) for pid, _ in self.workers)


def health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextmanager
def proxy_process(origin: str, args: argparse.Namespace, concurrency: int) -> Iterator[Proxy]:
    """Granian serving the app with one worker, in a scratch directory (no stray .env files), its
    upstream the mock at `origin`; yields once /health answers. Kills the workers it found too."""
    port = free_port()
    env = dict(os.environ, ZAIPROXY_ORIGIN=origin, SKIP_AUTH_TOKEN="true")
    env.update(item.split("=", 1) for item in args.proxy_env)
    backlog = max(1024, concurrency + 64)
    if args.server == "uvicorn":
        command = [
            *(sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)),
            *("--loop", "uvloop" if args.loop == "uvloop" else "asyncio", "--http", "httptools"),
            *("--backlog", str(backlog), "--no-access-log", "--log-level", "warning"),
            *(["--factory"] if args.factory else []),
            args.app,
        ]
    else:
        command = [
            granian(),
            *("--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
            *("--workers", "1", "--http", "1", "--loop", args.loop),
            *("--backlog", str(backlog), "--backpressure", str(backlog)),
            *("--no-access-log", "--log-level", "warning"),
            *(["--factory"] if args.factory else []),
            args.app,
        ]
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as scratch:
        log_path = Path(scratch) / "granian.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                command, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
            )
        proxy = Proxy(process, f"http://127.0.0.1:{port}")
        try:
            up = wait_until(lambda: process.poll() is not None or health(proxy.url), 60, 0.1)
            if not up or process.poll() is not None:
                raise RuntimeError(f"the proxy did not start:\n{log_path.read_text()[-3000:]}")
            # Granian serves from worker processes; uvicorn with one worker from its own.
            worker_pids = child_pids(process.pid) if args.server == "granian" else [process.pid]
            for pid in worker_pids:
                started = start_time(pid)
                if started is not None:
                    proxy.workers.append((pid, started))
            if not proxy.workers:
                raise RuntimeError("no worker process found")
            yield proxy
        finally:
            stop_process(process)
            for pid, started in proxy.workers:
                if start_time(pid) == started:  # still the worker we found: not stopped with main
                    os.kill(pid, signal.SIGKILL)


class Client:
    """The load generator in its own process: `bench/proxy.py --client <spec>`."""

    def __init__(self, spec: dict[str, Any], timeout: float) -> None:
        self.timeout = timeout
        command = [sys.executable, os.path.abspath(__file__), "--client", json.dumps(spec)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def read(self, word: str) -> dict[str, Any]:
        """The figures of the next line the client says, which must start with `word`."""
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline() if ready else ""
        said, _, figures = line.partition(" ")
        if said != word:
            raise RuntimeError(f"the client said {line!r}, not {word!r} (timeout {self.timeout} s)")
        return dict(json.loads(figures))

    def tell(self, word: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(word + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        stop_process(self.process)

    @classmethod
    def run(cls, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
        client = cls(spec, timeout)
        try:
            return client.read("result")
        finally:
            client.stop()


# ---------------------------------------------------------------- reporting


@dataclass
class Report:
    """Failures and goal verdicts collected over the phases, printed at the end."""

    failed: int = 0
    goals: list[str] = field(default_factory=list)

    def goal(self, text: str, value: str, passed: bool | None, why: str = "") -> str:
        verdict = "PASS" if passed else "MISS" if passed is not None else f"not checked: {why}"
        line = f"{text}: {value} {verdict}"
        self.goals.append(line)
        return f"goal {text}: {verdict}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def signed_ms(seconds: float) -> str:
    return f"{seconds * 1e3:+.2f} ms"


def failures(figures: dict[str, Any]) -> str:
    text = f"{figures['failed']} failed"
    if figures.get("timed_out"):
        text += f" ({figures['timed_out']} still open at the deadline)"
    if figures["errors"]:
        text += f" {figures['errors']}"
    return text


# ---------------------------------------------------------------- phases


def common_spec(args: argparse.Namespace) -> dict[str, Any]:
    return {"receive_buffer": args.receive_buffer, "timeout": 60.0, "deadline": args.deadline}


def busiest(threads: dict[str, float]) -> list[tuple[str, float]]:
    """The proxy's three busiest threads, by name, with their CPU seconds."""
    return sorted(threads.items(), key=lambda item: -item[1])[:3]


def thread_seconds(threads: dict[str, float]) -> str:
    """CPU seconds of the proxy's busiest threads."""
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in busiest(threads) if seconds)


def per_thread(threads: dict[str, float], count: int) -> str:
    """CPU per request of the proxy's busiest threads."""
    return ", ".join(f"{name} {s / count * 1e6:,.0f} us" for name, s in busiest(threads))


def measured_run(spec: dict[str, Any], deadline: float, proxy: Proxy, mock: Mock) -> dict[str, Any]:
    """One client run, with the CPU the proxy (by thread, user and system) and the mock spent."""
    proxy_cpu, mock_cpu = proxy.cpu_seconds(), mock.cpu_seconds()
    threads, split = proxy.thread_cpu(), proxy.cpu_split()
    figures = Client.run(spec, deadline)
    figures["proxy_cpu"] = proxy.cpu_seconds() - proxy_cpu
    figures["mock_cpu"] = mock.cpu_seconds() - mock_cpu
    figures["proxy_user"], figures["proxy_system"] = (
        after - before for after, before in zip(proxy.cpu_split(), split)
    )
    figures["threads"] = {
        name: seconds - threads.get(name, 0.0) for name, seconds in proxy.thread_cpu().items()
    }
    return figures


def phase_ttfb(args: argparse.Namespace, report: Report) -> None:
    """(a) Added time to first byte: paired direct and proxy requests at low concurrency."""
    events = 20
    with ExitStack() as stack:
        mock = stack.enter_context(mock_process("--bulk-events", str(events)))
        proxy = stack.enter_context(proxy_process(mock.url, args, args.ttfb_concurrency))
        spec = {
            **common_spec(args),
            "kind": "ttfb",
            "mock": mock.url,
            "proxy": proxy.url,
            "count": args.ttfb_requests,
            "warm": 10,
            "concurrency": args.ttfb_concurrency,
            "expect": events,
        }
        figures = measured_run(spec, args.deadline + 60, proxy, mock)
        proxy_cpu, threads = figures["proxy_cpu"], figures["threads"]
    pairs = figures["pairs"]
    requests = spec["count"] + spec["warm"]
    report.failed += figures["failed"]
    added = summarize([p - d for d, p in pairs])
    direct = summarize([d for d, _ in pairs])
    via = summarize([p for _, p in pairs])
    verdict = report.goal(
        f"added median TTFB < {GOAL_TTFB_MS:g} ms",
        ms(added["p50"]),
        added["p50"] * 1e3 < GOAL_TTFB_MS if pairs else False,
    )
    print(
        f"added TTFB: median {signed_ms(added['p50'])}, p99 {signed_ms(added['p99'])}"
        f" over {len(pairs)} pairs at concurrency {args.ttfb_concurrency}"
        f" (proxy p50 {ms(via['p50'])} p99 {ms(via['p99'])};"
        f" direct p50 {ms(direct['p50'])} p99 {ms(direct['p99'])};"
        f" proxy CPU {proxy_cpu / requests * 1e6:,.0f} us per request of {events} events:"
        f" {per_thread(threads, requests)}); {failures(figures)}; {verdict}"
    )


def phase_throughput(args: argparse.Namespace, report: Report) -> None:
    """(b) Chunks per second at saturation, direct and via the proxy; (c) proxy CPU per chunk."""
    with ExitStack() as stack:
        bulk = ("--bulk-events", str(args.events), "--bulk-text", args.text)
        mock = stack.enter_context(mock_process(*bulk))
        proxy = stack.enter_context(proxy_process(mock.url, args, args.streams))
        spec = {
            **common_spec(args),
            "kind": "load",
            "streams": args.streams,
            "ramp": 0.0,
            "interval": 0.0,
            "expect": args.events,
        }
        results = {}
        for target, url in (("direct", mock.url), ("proxy", proxy.url)):
            target_spec = {**spec, "target": target, "url": url}
            figures = measured_run(target_spec, args.deadline + 60, proxy, mock)
            results[target] = figures
            report.failed += figures["failed"]
    for target, figures in results.items():
        rate = figures["events"] / figures["wall"]
        line = (
            f"throughput[{target}]: {figures['streams']} streams x {args.events} events:"
            f" {figures['events']:,} chunks in {figures['wall']:.2f} s = {rate:,.0f} chunks/s;"
            f" client CPU {figures['client_cpu']:.2f} s, mock CPU {figures['mock_cpu']:.2f} s"
        )
        if target == "proxy":
            verdict = report.goal(
                f">= {GOAL_CHUNKS_PER_SECOND:,} chunks/s via the proxy",
                f"{rate:,.0f}",
                rate >= GOAL_CHUNKS_PER_SECOND and not figures["failed"],
            )
            line += f", proxy CPU {figures['proxy_cpu']:.2f} s; {failures(figures)}; {verdict}"
        else:
            line += f"; {failures(figures)}"
        print(line)
    figures = results["proxy"]
    chunks = max(1, figures["events"])
    named = thread_seconds(figures["threads"])
    print(
        f"proxy CPU per chunk: {figures['proxy_cpu'] / chunks * 1e6:.1f} us"
        f" = {chunks / max(figures['proxy_cpu'], 1e-9):,.0f} chunks per proxy-CPU-second"
        f" (user {figures['proxy_user']:.2f} s + system {figures['proxy_system']:.2f} s"
        f" over {chunks:,} chunks; worker threads: {named})"
    )


def phase_memory(args: argparse.Namespace, report: Report) -> None:
    """(d) Memory per open stream: worker RSS with K stalled streams, minus a warm baseline."""
    warm, count = 8, args.idle_streams
    with ExitStack() as stack:
        mock = stack.enter_context(mock_process("--stall-seconds", "3600"))
        proxy = stack.enter_context(proxy_process(mock.url, args, warm + count))
        spec = {
            **common_spec(args),
            "kind": "idle",
            "target": "proxy",
            "url": proxy.url,
            "warm": warm,
            "streams": count,
            "timeout": 120.0,
            "settle": 30.0,
        }
        client = stack.enter_context(client_context(spec, 120.0))
        client.read("warm")
        wait_until(lambda: established_to_port(mock.port) >= warm, 30)
        baseline = settled_rss(proxy)
        client.tell("go")
        said = client.read("open")
        reached = wait_until(lambda: established_to_port(mock.port) >= warm + count, 60)
        upstream = established_to_port(mock.port)
        loaded = settled_rss(proxy)
        client.tell("close")
        client.read("result")
    per_stream = (loaded - baseline) / count
    if not reached:
        report.failed += 1
    print(
        f"memory per open stream: {per_stream / 1024:.1f} KB"
        f" ({count:,} stalled streams via the proxy: worker RSS {baseline / 2**20:.1f}"
        f" -> {loaded / 2**20:.1f} MB; {upstream:,} connections at the mock"
        f"{'' if reached else ' (not all streams reached it!)'},"
        f" {said['status_200']:,} client streams with their 200 head)"
    )


@contextmanager
def client_context(spec: dict[str, Any], timeout: float) -> Iterator[Client]:
    client = Client(spec, timeout)
    try:
        yield client
    finally:
        client.stop()


def settled_rss(proxy: Proxy, timeout: float = 10.0) -> int:
    """The worker's RSS once two readings 0.5 s apart differ by under 1% (or at the timeout)."""
    previous = proxy.worker_rss()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = proxy.worker_rss()
        if abs(current - previous) < previous / 100:
            return current
        previous = current
    return previous


def phase_drip(args: argparse.Namespace, report: Report) -> None:
    """(e) Many streams held while the mock drips events: gap minus interval, direct and proxy."""
    interval = args.drip_interval
    with ExitStack() as stack:
        mock = stack.enter_context(
            mock_process("--bulk-events", str(args.drip_events), drip_seconds=interval)
        )
        proxy = stack.enter_context(proxy_process(mock.url, args, args.drip_streams))
        spec = {
            **common_spec(args),
            "kind": "load",
            "streams": args.drip_streams,
            "ramp": args.drip_ramp,
            "interval": interval,
            "expect": args.drip_events,
        }
        results = {}
        for target, url in (("direct", mock.url), ("proxy", proxy.url)):
            target_spec = {**spec, "target": target, "url": url}
            figures = measured_run(target_spec, args.deadline + 60, proxy, mock)
            results[target] = figures
            report.failed += figures["failed"]
    for target, figures in results.items():
        gaps, held = figures["gaps"], figures["held_gaps"]
        print(
            f"inter-chunk latency[{target}]: {figures['streams']:,} streams x"
            f" {args.drip_events} events every {interval * 1e3:g} ms"
            f" (peak {figures['peak_open']:,} open, {figures['wall']:.1f} s):"
            f" gap - interval p50 {signed_ms(gaps['p50'])}, p99 {signed_ms(gaps['p99'])},"
            f" max {signed_ms(gaps['max'])} over {gaps['count']:,} gaps;"
            f" while all were open p99 {signed_ms(held['p99'])} ({held['count']:,} gaps);"
            f" first chunk p50 {ms(figures['first']['p50'])};"
            f" CPU: client {figures['client_cpu']:.2f} s, mock {figures['mock_cpu']:.2f} s,"
            f" proxy {figures['proxy_cpu']:.2f} s"
            + (f" ({thread_seconds(figures['threads'])})" if target == "proxy" else "")
            + f"; {failures(figures)}"
        )
    # The goal is about streams held: gaps while all of them are open. While they are being
    # opened, the worker also pays for up to --drip-streams / --drip-ramp new requests a second
    # (a burst of requests, not held streams); that figure is printed as well.
    added = results["proxy"]["held_gaps"]["p99"] - results["direct"]["held_gaps"]["p99"]
    added_all = results["proxy"]["gaps"]["p99"] - results["direct"]["gaps"]["p99"]
    streams = args.drip_streams
    failed = results["proxy"]["failed"] + results["direct"]["failed"]
    checked = streams >= GOAL_STREAMS
    verdict = report.goal(
        f"{GOAL_STREAMS:,} concurrent streams, added p99 inter-chunk < {GOAL_GAP_P99_MS:g} ms",
        f"{signed_ms(added)} with {streams:,} streams, {failed} failed",
        (added * 1e3 < GOAL_GAP_P99_MS and not failed) if checked else None,
        f"{streams:,} streams",
    )
    print(
        f"added inter-chunk p99 while all {streams:,} were open: {signed_ms(added)}"
        f" (proxy p99 - direct p99; over every gap, opening included: {signed_ms(added_all)});"
        f" {verdict}"
    )


PHASES = {
    "ttfb": phase_ttfb,
    "throughput": phase_throughput,
    "memory": phase_memory,
    "drip": phase_drip,
}


# ---------------------------------------------------------------- main


def default_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "auto"
    return "uvloop"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/proxy.py", description=__doc__.split("\n")[0])
    parser.add_argument("--app", default="zaiproxy.server:app", help="the ASGI app served")
    parser.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    parser.add_argument(
        "--factory", action="store_true", help="--app names a factory (Granian's --factory)"
    )
    parser.add_argument("--loop", default=default_loop(), help="Granian's --loop")
    parser.add_argument(
        "--proxy-env", action="append", default=[], metavar="NAME=VALUE", help="for the proxy"
    )
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated, in order")
    parser.add_argument("--ttfb-requests", type=int, default=200, help="pairs measured")
    parser.add_argument("--ttfb-concurrency", type=int, default=1, help="pairs in flight")
    parser.add_argument("--streams", type=int, default=200, help="throughput: concurrent streams")
    parser.add_argument("--events", type=int, default=1000, help="throughput: events per stream")
    parser.add_argument("--text", default="token ", help="throughput: the text of each event")
    parser.add_argument("--idle-streams", type=int, default=1000, help="memory: open streams")
    parser.add_argument("--drip-streams", type=int, default=1000, help="drip: concurrent streams")
    parser.add_argument("--drip-events", type=int, default=60, help="drip: events per stream")
    parser.add_argument("--drip-interval", type=float, default=0.05, help="drip: seconds")
    parser.add_argument("--drip-ramp", type=float, default=1.0, help="drip: opens spread, seconds")
    parser.add_argument("--receive-buffer", type=int, default=16384, help="the client's, bytes")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds per client run")
    parser.add_argument("--quick", action="store_true", help="tiny numbers: a smoke run")
    parser.add_argument("--client", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.ttfb_requests, args.streams, args.events, args.idle_streams = 20, 20, 100, 50
        args.drip_streams, args.drip_events, args.drip_interval = 50, 10, 0.02
        args.drip_ramp, args.deadline = 0.1, 60.0
    return args


def terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every child process is stopped on the way out."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        return run_client(json.loads(args.client))
    signal.signal(signal.SIGTERM, terminate)
    limit = raise_fd_limit()
    needed = 2 * max(args.streams, args.idle_streams + 8, args.drip_streams) + 64
    if limit < needed:
        print(f"RLIMIT_NOFILE is {limit}, below the {needed} descriptors needed", file=sys.stderr)
        return 2
    phases = [name for name in args.phases.split(",") if name]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        print(f"unknown phases {unknown}; known: {', '.join(PHASES)}", file=sys.stderr)
        return 2
    print(
        f"zaiproxy {core.__version__}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]};"
        f" proxy {args.app} under {args.server} (1 worker, --loop {args.loop}, HTTP/1.1);"
        f" client receive buffer {args.receive_buffer} B",
        flush=True,
    )
    report = Report()
    try:
        for name in phases:
            PHASES[name](args, report)
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print("goals (one worker):")
    for line in report.goals:
        print(f"  {line}")
    if report.failed:
        print(f"{report.failed} failures (streams or set-up): see the lines above")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
