"""Benchmark of the upstream engine alone against the mock chat.z.ai (in a separate process).

Measures what the issue asks of the engine: N concurrent streams of E upstream events through one
engine (each through an openai-sse Pipeline), the engine thread's CPU per upstream event, the time
to the first output byte, and the memory an idle (connected, stalled) stream costs.

    .venv/bin/python bench/engine.py            # 2,000 streams x 1,000 events, 2,000 idle
    .venv/bin/python bench/engine.py --quick    # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from common import (
    CLOCK_TICKS,
    Mock,
    completions,
    mock_process,
    process_cpu,
    raise_fd_limit,
    resident_bytes,
    wait_until,
)

from zaiproxy import core
from zaiproxy.upstream.engine import EngineSettings, UpstreamEngine

# ---------------------------------------------------------------- the pipeline


def pipeline() -> core.PipelineOptions:
    return core.PipelineOptions(output="openai-sse", model="GLM-4.5")


# ---------------------------------------------------------------- throughput


@dataclass
class Run:
    """What one throughput run measured."""

    reader: str
    streams: int
    events: int  # upstream deltas per stream
    wall: float = 0.0
    engine_cpu: float = 0.0
    process_cpu: float = 0.0
    mock_cpu: float = 0.0
    bytes_received: int = 0
    bytes_delivered: int = 0
    paused: int = 0
    failed: int = 0
    takes: int = 0  # take() calls that returned output (poll reader only)
    thread_user: float = 0.0  # CPU of the threads other than the main one (the engine's)
    thread_system: float = 0.0
    first_byte: list[float] = field(default_factory=list)

    def report(self) -> None:
        total = self.streams * self.events
        tag = f"[{self.reader}]"
        print(
            f"throughput{tag}: {self.streams} streams x {self.events} events in {self.wall:.2f} s"
            f" wall: {self.streams / self.wall:,.0f} streams/s,"
            f" {total / self.wall:,.0f} upstream events/s,"
            f" {self.bytes_received / self.wall / 1e6:.1f} MB/s in,"
            f" {self.bytes_delivered / self.wall / 1e6:.1f} MB/s out"
        )
        print(
            f"engine CPU{tag}: {self.engine_cpu:.2f} s ="
            f" {self.engine_cpu / total * 1e9:,.0f} ns/event ="
            f" {total / self.engine_cpu:,.0f} events per engine-CPU-second"
        )
        print(
            f"engine thread{tag}: user {self.thread_user:.2f} s, system {self.thread_system:.2f} s"
        )
        batches = f", {self.takes:,} take() batches" if self.takes else ""
        print(
            f"other CPU{tag}: reader (process minus engine thread)"
            f" {self.process_cpu - self.engine_cpu:.2f} s{batches}, mock process"
            f" {self.mock_cpu:.2f} s; {self.paused} pauses for a slow reader,"
            f" {self.failed} failed streams"
        )
        ordered = sorted(self.first_byte)
        if ordered:
            p50 = ordered[len(ordered) // 2]
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            print(
                f"first byte{tag}: p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms,"
                f" max {ordered[-1] * 1e3:.1f} ms (from open to the first output byte)"
            )


def other_threads_cpu() -> tuple[float, float]:
    """User and system CPU seconds of this process's threads but the main one (the engine's)."""
    user = system = 0.0
    for task in os.listdir("/proc/self/task"):
        if int(task) == os.getpid():
            continue
        try:
            with open(f"/proc/self/task/{task}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11]) / CLOCK_TICKS
        system += int(fields[12]) / CLOCK_TICKS
    return user, system


def ends_well(tail: bytes) -> bool:
    return tail.endswith(b"data: [DONE]\n\n")


def run_polling(mock: Mock, args: argparse.Namespace) -> Run:
    """The thinnest reader: poll() on ready_fd, take_ready(), take() each ready stream."""
    engine = core.Engine(
        stream_buffer_bytes=args.stream_buffer, receive_buffer_bytes=args.receive_buffer
    )
    requests = completions(mock.url, args.streams)
    run = Run("poll", args.streams, args.events)
    poller = select.poll()
    poller.register(engine.ready_fd, select.POLLIN)
    streams: dict[int, core.Stream] = {}
    opened: dict[int, float] = {}
    tails: dict[int, bytes] = {}
    before = engine.stats()
    cpu, mock_cpu, started = process_cpu(), mock.cpu_seconds(), time.perf_counter()
    for request in requests:
        stream = engine.open(request, pipeline())
        streams[stream.id] = stream
        opened[stream.id] = time.perf_counter()
    while streams:
        poller.poll(1000)
        for stream_id in engine.take_ready():
            stream = streams.get(stream_id)
            if stream is None:
                continue
            data, done = stream.take()
            if data:
                run.takes += 1
                if stream_id in opened:
                    run.first_byte.append(time.perf_counter() - opened.pop(stream_id))
                tails[stream_id] = data[-64:]
            if done:
                del streams[stream_id]
                if stream.failure is not None or not ends_well(tails.get(stream_id, b"")):
                    run.failed += 1
    run.wall = time.perf_counter() - started
    run.process_cpu = process_cpu() - cpu
    run.mock_cpu = mock.cpu_seconds() - mock_cpu
    run.thread_user, run.thread_system = other_threads_cpu()
    after = engine.stats()
    engine.stop()
    run.engine_cpu = after["cpu_seconds"] - before["cpu_seconds"]
    run.bytes_received = after["bytes_received"] - before["bytes_received"]
    run.bytes_delivered = after["bytes_delivered"] - before["bytes_delivered"]
    run.paused = after["paused"] - before["paused"]
    return run


def run_asyncio(mock: Mock, args: argparse.Namespace) -> Run:
    """The asyncio wrapper as the server uses it: one task per stream, `async for` over it."""
    engine = UpstreamEngine(
        EngineSettings(
            stream_buffer_bytes=args.stream_buffer, receive_buffer_bytes=args.receive_buffer
        )
    )
    requests = completions(mock.url, args.streams)
    run = Run("asyncio", args.streams, args.events)

    async def read(request: core.HttpRequest) -> None:
        opened = time.perf_counter()
        tail = b""
        async with engine.stream(request, pipeline()) as stream:
            async for data in stream:
                if not tail:
                    run.first_byte.append(time.perf_counter() - opened)
                tail = data[-64:]
        if not ends_well(tail):
            run.failed += 1

    async def main() -> None:
        results = await asyncio.gather(*(read(r) for r in requests), return_exceptions=True)
        run.failed += sum(isinstance(result, BaseException) for result in results)

    cpu, mock_cpu, started = process_cpu(), mock.cpu_seconds(), time.perf_counter()
    asyncio.run(main())
    run.wall = time.perf_counter() - started
    run.process_cpu = process_cpu() - cpu
    run.mock_cpu = mock.cpu_seconds() - mock_cpu
    run.thread_user, run.thread_system = other_threads_cpu()
    after = engine.stats()
    engine.close()
    run.engine_cpu = after["cpu_seconds"]
    run.bytes_received = int(after["bytes_received"])
    run.bytes_delivered = int(after["bytes_delivered"])
    run.paused = int(after["paused"])
    return run


# ---------------------------------------------------------------- memory per idle stream


class MallInfo2(ctypes.Structure):
    _fields_: ClassVar[list[tuple[str, type[ctypes.c_size_t]]]] = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_in_use() -> int | None:
    """Bytes glibc malloc has handed out and not taken back (mallinfo2: uordblks + hblkhd)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd)


def measure_idle(url: str, count: int, receive_buffer: int, stream_buffer: int) -> dict[str, float]:
    """Runs in a fresh process: memory of `count` streams connected to a stalling mock."""
    engine = core.Engine(stream_buffer_bytes=stream_buffer, receive_buffer_bytes=receive_buffer)
    requests = completions(url, count + 1)
    warm = engine.open(requests.pop(), pipeline())  # starts the thread and curl's shared state
    if not wait_until(lambda: warm.status == 200, 30):
        raise RuntimeError("the warm-up stream did not connect")
    gc.collect()
    time.sleep(0.2)
    rss, heap = resident_bytes(), malloc_in_use()
    # The requests stay alive until after the measurement: open() copies them, and freeing the
    # Python side here would hide part of the engine's own allocations in the delta.
    streams = [engine.open(request, pipeline()) for request in requests]
    connected = wait_until(lambda: all(s.status == 200 for s in streams), 120)
    time.sleep(0.5)
    gc.collect()
    rss_delta, heap_after = resident_bytes() - rss, malloc_in_use()
    stats = engine.stats()
    result = {
        "streams": count,
        "connected": sum(s.status == 200 for s in streams),
        "active": stats["active"],
        "rss_per_stream": rss_delta / count,
        "malloc_per_stream": -1.0,  # no mallinfo2 (not glibc 2.33+)
    }
    if heap is not None and heap_after is not None:
        result["malloc_per_stream"] = (heap_after - heap) / count
    for stream in streams:
        stream.cancel()
    warm.cancel()
    engine.stop()
    if not connected:
        result["connected"] = -result["connected"]
    return result


def run_idle_child(url: str, args: argparse.Namespace, receive_buffer: int) -> dict[str, float]:
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--idle-child",
        url,
        "--idle-streams",
        str(args.idle_streams),
        "--receive-buffer",
        str(receive_buffer),
        "--stream-buffer",
        str(args.stream_buffer),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def report_idle(receive_buffer: int, figures: dict[str, float]) -> None:
    count = int(figures["streams"])
    connected = int(figures["connected"])
    note = "" if connected == count else f" (only {abs(connected)} connected!)"
    malloc = figures["malloc_per_stream"]
    heap = f"{malloc / 1024:.1f} KB" if malloc >= 0 else "n/a"
    print(
        f"idle memory[receive_buffer={receive_buffer}]: {count} stalled streams{note}:"
        f" RSS {figures['rss_per_stream'] / 1024:.1f} KB/stream,"
        f" malloc in use {heap}/stream"
    )


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/engine.py", description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=2000, help="concurrent streams")
    parser.add_argument("--events", type=int, default=1000, help="upstream deltas per stream")
    parser.add_argument("--text", default="token ", help="the text of each delta")
    parser.add_argument("--idle-streams", type=int, default=2000, help="stalled streams (0: skip)")
    parser.add_argument("--stream-buffer", type=int, default=256 * 1024, help="bytes")
    parser.add_argument("--receive-buffer", type=int, default=1024, help="curl's, bytes")
    parser.add_argument(
        "--idle-receive-buffers",
        default="16384,4096,1024",
        help="comma-separated receive buffer sizes to compare idle memory for",
    )
    parser.add_argument(
        "--readers",
        default="poll,asyncio",
        help="comma-separated throughput readers: poll (thinnest) and/or asyncio; empty: none",
    )
    parser.add_argument("--quick", action="store_true", help="200 streams: a smoke run")
    parser.add_argument("--idle-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.streams, args.events, args.idle_streams = 200, 200, 200
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_fd_limit()
    if args.idle_child:
        figures = measure_idle(
            args.idle_child, args.idle_streams, args.receive_buffer, args.stream_buffer
        )
        print(json.dumps(figures))
        return 0
    needed = max(args.streams, args.idle_streams) + 64
    if limit < needed:
        print(f"RLIMIT_NOFILE is {limit}, below the {needed} descriptors needed", file=sys.stderr)
        return 2
    print(
        f"zaiproxy {core.__version__}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]};"
        f" stream buffer {args.stream_buffer} B, receive buffer {args.receive_buffer} B"
    )
    failed = 0
    bulk = ("--bulk-events", str(args.events), "--bulk-text", args.text)
    readers = [reader for reader in args.readers.split(",") if reader]
    with mock_process(*bulk) as mock:
        for reader in readers:
            run = run_polling(mock, args) if reader == "poll" else run_asyncio(mock, args)
            run.report()
            failed += run.failed
    if not args.idle_streams:
        return 1 if failed else 0
    with mock_process("--stall-seconds", "3600") as mock:
        for size in args.idle_receive_buffers.split(","):
            figures = run_idle_child(mock.url, args, int(size))
            report_idle(int(size), figures)
            failed += int(figures["connected"] != figures["streams"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
