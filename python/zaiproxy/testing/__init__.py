"""A faithful mock of the chat.z.ai upstream (upstream-protocol.md) for tests and benchmarks.

    from zaiproxy.testing import MockUpstream, Reply

    with MockUpstream(min_fe_version="prod-fe-1.0.185") as mock:
        mock.enqueue(Reply.answer(["Hello", " world"]))
        ...  # point the client at mock.url

Pure standard library; it never uses zaiproxy's own core (which it exists to test).
"""

from __future__ import annotations

from zaiproxy.testing._app import UploadedFile
from zaiproxy.testing._catalogue import DEFAULT_MODELS, Model
from zaiproxy.testing._identity import Identity, make_jwt
from zaiproxy.testing._signature import DEFAULT_SIGNING_KEY, expected_signature
from zaiproxy.testing.config import MockConfig
from zaiproxy.testing.mock import MockUpstream
from zaiproxy.testing.records import RecordedRequest
from zaiproxy.testing.replies import Pacing, Reply, find_trigger
from zaiproxy.testing.stats import Stats

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_SIGNING_KEY",
    "Identity",
    "MockConfig",
    "MockUpstream",
    "Model",
    "Pacing",
    "RecordedRequest",
    "Reply",
    "Stats",
    "UploadedFile",
    "expected_signature",
    "find_trigger",
    "make_jwt",
]
