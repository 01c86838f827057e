"""The engine benchmark runs: `bench/engine.py --quick` exits 0 and prints every figure line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "engine.py"


def test_quick_run_prints_the_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for reader in ("poll", "asyncio"):
        for figure in ("throughput", "engine CPU", "engine thread", "other CPU", "first byte"):
            assert any(line.startswith(f"{figure}[{reader}]: ") for line in lines), figure
    assert any("events per engine-CPU-second" in line for line in lines)
    for size in (16384, 4096):
        assert any(line.startswith(f"idle memory[receive_buffer={size}]: ") for line in lines)
