"""Helpers the benchmarks share: the mock upstream in a process of its own, signed completions it
accepts, /proc readings of other processes, and SSE event counting of raw response bytes.

Run as a script, this file is a mock launcher: `python bench/common.py [--drip-seconds S]
[options of python -m zaiproxy.testing]` serves the same mock, with a drip (a pause before every
event) that the mock's own command line does not offer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from zaiproxy import core
from zaiproxy.profile import load_profile

MODEL = "GLM-4.5"
FE_VERSION = "prod-fe-1.1.98"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


# ---------------------------------------------------------------- other processes, from /proc


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot: tells a process from a later one that
    reuses its pid. None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def resident_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (Rss of smaps_rollup, else VmRSS)."""
    for name, key in (("smaps_rollup", "Rss:"), ("status", "VmRSS:")):
        try:
            with open(f"/proc/{pid}/{name}") as lines:
                for line in lines:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except OSError:
            continue
    raise RuntimeError(f"no /proc memory figures for {pid}")


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (/proc/<pid>/task/*/children, else a scan of /proc)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children.extend(int(child) for child in listing.read().split())
        return sorted(set(children))
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(children)


def established_to_port(port: int) -> int:
    """TCP connections in ESTABLISHED state whose local port is `port` (/proc/net/tcp{,6}): the
    connections a server on that port has accepted and not closed."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines, None)
                for line in lines:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            continue
    return count


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (inherited by the child processes)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def stop_process(process: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


# ---------------------------------------------------------------- the mock and its requests


@dataclass
class Mock:
    process: subprocess.Popen[str]
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the mock process so far."""
        return cpu_seconds(self.process.pid)


@contextmanager
def mock_process(*options: str, drip_seconds: float = 0.0) -> Iterator[Mock]:
    """`python -m zaiproxy.testing` on a free port; yields once it prints its URL. With
    `drip_seconds`, this file's launcher serves it instead and paces every event."""
    if drip_seconds:
        launcher = [os.path.abspath(__file__), "--drip-seconds", str(drip_seconds)]
    else:
        launcher = ["-m", "zaiproxy.testing"]
    command = [sys.executable, *launcher, "--port", "0", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the mock did not start: {command}")
        yield Mock(process, url)
    finally:
        stop_process(process)


def completions(url: str, count: int) -> list[core.HttpRequest]:
    """Signed completions the mock accepts, written by the request builder as the server does."""
    profile = load_profile(env={"ZAIPROXY_ORIGIN": url, "ZAIPROXY_FE_VERSION": FE_VERSION})
    with urllib.request.urlopen(url + "/api/v1/auths/") as response:
        identity = core.parse_auth_response(response.read())
    plan = core.plan_chat(
        profile, {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    )
    return [plan.completion_request(identity) for _ in range(count)]


# ---------------------------------------------------------------- reading raw SSE bytes


class EventCounter:
    """Counts SSE `data:` events in a byte stream read in arbitrary pieces.

    An event is a line starting with `data:`; the counter looks for `\\ndata:` and keeps the last
    five bytes of each piece, so an event split across reads is counted once, in the piece that
    completes its `data:`. Content cannot fake one: JSON strings escape their newlines.
    """

    MARK = b"\ndata:"

    def __init__(self) -> None:
        self.events = 0
        self._carry = b"\n"  # the stream's first line starts an event too

    def feed(self, data: bytes) -> int:
        """Adds the events `data` completes; returns how many."""
        joined = self._carry + data
        found = joined.count(self.MARK)
        self._carry = joined[-(len(self.MARK) - 1) :]
        self.events += found
        return found


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The value at `fraction` (0..1) of sorted values (nearest rank); NaN when there are none."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


# ---------------------------------------------------------------- the drip launcher


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed: a load generator that spends less per wake-up
    leaves more of the machine to what is measured."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        return asyncio.run(main)
    finally:
        asyncio.set_event_loop_policy(None)


class _Metronome:
    """One clock for every dripping stream: each pause waits for the next tick.

    The mock's own pause (asyncio.wait on the connection's close, with a timeout) costs a waiter,
    callbacks and a timer per event, which at 1,000 streams x 20 events/s is more than a core of
    this machine and makes the mock, not what is measured, miss the schedule. Here one timer per
    tick wakes every stream due; a stream's consecutive events stay exactly one interval apart.
    """

    def __init__(self) -> None:
        self._tick: asyncio.Future[None] | None = None

    async def pause(self, response: Any, seconds: float) -> None:
        from zaiproxy.testing._http import ClientGone

        if self._tick is None or self._tick.done():
            loop = asyncio.get_running_loop()
            self._tick = loop.create_future()
            loop.call_later(seconds, self._tick.set_result, None)
        await asyncio.shield(self._tick)
        if response.closed.done():
            raise ClientGone()


def serve_mock(argv: Sequence[str] | None = None) -> None:
    """The mock of `python -m zaiproxy.testing`, its options as there, plus --drip-seconds
    (with a cheaper pause between events)."""
    from zaiproxy.testing import MockUpstream, _streaming
    from zaiproxy.testing import __main__ as cli
    from zaiproxy.testing.replies import Reply

    parser = argparse.ArgumentParser(prog="bench/common.py", description=__doc__.split("\n")[0])
    parser.add_argument("--drip-seconds", type=float, default=0.0, help="pause before each event")
    own, rest = parser.parse_known_args(argv)
    args = cli.parse_args(rest)
    mock = MockUpstream(
        host=args.host,
        port=args.port,
        fe_versions=tuple(args.fe_versions or [FE_VERSION]),
        min_fe_version=args.min_fe_version,
        stale_version_status=args.stale_version_status,
        signature_tolerance=args.signature_tolerance,
    )
    reply = Reply.bulk(args.bulk_events, args.bulk_text) if args.bulk_events else mock.default_reply
    if own.drip_seconds:
        reply = reply.drip(own.drip_seconds)
        _streaming._pause = _Metronome().pause
    if args.stall_seconds:
        reply = reply.stall(after=0, seconds=args.stall_seconds)
    mock.default_reply = reply
    with contextlib.suppress(KeyboardInterrupt):
        # Not run_fast: the mock's server wants asyncio's own transports.
        asyncio.run(mock.serve(lambda: print(mock.url, flush=True)))


if __name__ == "__main__":
    serve_mock()
