from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"


def project_version() -> str:
    """The one place the version is written: pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    assert found, "pyproject.toml has no version line"
    return found.group(1)


def require_host(present: bool, what: str) -> None:
    """A test's need of something outside the virtual environment (a Debian program, the
    packages of `make dist`). Missing, it fails the test, since CI provides everything and a skip
    would hide a broken CI, unless ZAIPROXY_ALLOW_SKIP=1 (cibuildwheel's build containers) lets
    it skip."""
    if present:
        return
    if os.environ.get("ZAIPROXY_ALLOW_SKIP") == "1":
        pytest.skip(f"{what} is missing")
    pytest.fail(f"{what} is missing; set ZAIPROXY_ALLOW_SKIP=1 to skip the tests that need it")


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
