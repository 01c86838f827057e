"""The benchmarks run: each script's `--quick` run exits 0 and prints every figure line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"

PROXY_FIGURES = (
    "added TTFB: ",
    "throughput[direct]: ",
    "throughput[proxy]: ",
    "proxy CPU per chunk: ",
    "memory per open stream: ",
    "inter-chunk latency[direct]: ",
    "inter-chunk latency[proxy]: ",
    "added inter-chunk p99 while all ",
    "goals (one worker):",
)


def quick_run(script: str) -> list[str]:
    """The output lines of `bench/<script> --quick`, which must exit 0."""
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_engine_quick_run_prints_the_figures() -> None:
    lines = quick_run("engine.py")
    for reader in ("poll", "asyncio"):
        for figure in ("throughput", "engine CPU", "engine thread", "other CPU", "first byte"):
            assert any(line.startswith(f"{figure}[{reader}]: ") for line in lines), figure
    assert any("events per engine-CPU-second" in line for line in lines)
    for size in (16384, 4096):
        assert any(line.startswith(f"idle memory[receive_buffer={size}]: ") for line in lines)


def test_proxy_quick_run_prints_the_figures() -> None:
    lines = quick_run("proxy.py")
    for figure in PROXY_FIGURES:
        assert any(line.startswith(figure) for line in lines), figure
    assert sum(line.endswith(("PASS", "MISS")) for line in lines) >= 2, "\n".join(lines)


def test_pool_quick_run_prints_the_figures() -> None:
    lines = quick_run("pool.py")
    for store in ("sqlite", "redis"):
        for figure in ("pick+report", "pick+report throughput", "request log"):
            assert any(line.startswith(f"{figure}[{store}]: ") for line in lines), (figure, store)
