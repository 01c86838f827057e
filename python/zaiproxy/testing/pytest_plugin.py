"""pytest fixture `mock_upstream`, registered for every project that installs zaiproxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zaiproxy.testing.mock import MockUpstream


@pytest.fixture
def mock_upstream() -> Iterator[MockUpstream]:
    """A fresh, running MockUpstream on a free port (default settings)."""
    with MockUpstream() as mock:
        yield mock
