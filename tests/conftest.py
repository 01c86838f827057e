from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

GOLDEN = Path(__file__).parent / "golden"


def golden_bytes(name: str) -> bytes:
    return (GOLDEN / f"{name}.sse").read_bytes()


EXPECTED: dict[str, Any] = {
    k: v
    for k, v in json.loads((GOLDEN / "expected.json").read_text("utf-8")).items()
    if not k.startswith("_")
}


def stepping_clock(*readings: float) -> Callable[[], float]:
    """A clock that returns the given readings, then keeps returning the last one."""
    values = list(readings)

    def clock() -> float:
        return values.pop(0) if len(values) > 1 else values[0]

    return clock


@pytest.fixture
def two_second_clock() -> Callable[[], float]:
    return stepping_clock(100.0, 102.0)
