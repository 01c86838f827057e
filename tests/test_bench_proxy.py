"""The proxy benchmark runs: `bench/proxy.py --quick` exits 0 and prints every figure line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "proxy.py"

FIGURES = (
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


def test_quick_run_prints_the_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), figure
    assert sum(line.endswith(("PASS", "MISS")) for line in lines) >= 2, result.stdout
