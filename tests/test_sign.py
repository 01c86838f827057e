"""zaiproxy.core.sign against vectors of upstream-protocol.md §3.5 (the binding and key handling;
the C++ tests check every vector)."""

from __future__ import annotations

import pytest

from zaiproxy import core


@pytest.mark.parametrize(
    ("request_id", "ts", "user_id", "prompt", "signature"),
    [
        (  # V1
            "eef12d6c-6dc9-47a0-aae8-b9f3454f98c5",
            1761038714733,
            "21ea9ec3-e492-4dbb-b522-fc0eaf64f0f6",
            "hi",
            "e1939c1a60c96c6ef2441cbbf09e72bc0d4895db7722410950be7822eb8ee71c",
        ),
        (  # V3: empty prompt, guest
            "00000000-0000-4000-8000-000000000000",
            1700000000000,
            "guest",
            "",
            "52e36b8ef84fd84105c6055a721fd4c427c2378b74153df18d4d692d41981805",
        ),
        (  # V4: newline, quotes, emoji
            "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e",
            1773300000000,
            "d0d30815-b85a-4270-af63-b5346a9f3b13",
            'line1\nline2 "quoted" 😀',
            "d3f8e33ce7fb57822144c9d8d814c4890a95ca99bd971f8376af7f51f0bd07f1",
        ),
        (  # V8: the §2.3 example request
            "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e",
            1773300000000,
            "316bcb48-ff2f-4a15-853d-f2a29b67ff0f",
            "你好",
            "4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694",
        ),
    ],
)
def test_vectors(request_id: str, ts: int, user_id: str, prompt: str, signature: str) -> None:
    assert core.sign(request_id, ts, user_id, prompt) == signature


def test_root_key_is_a_parameter() -> None:
    # V1 signed with the 2025 key `junjie` (the v2 row of the spec).
    assert (
        core.sign(
            "eef12d6c-6dc9-47a0-aae8-b9f3454f98c5",
            1761038714733,
            "21ea9ec3-e492-4dbb-b522-fc0eaf64f0f6",
            "hi",
            key="junjie",
        )
        == "de7a724f854c340e4c45e8761f735e450ba499d4f2ef6b81c98ad1f46bc478b6"
    )
    assert core.DEFAULT_SIGNING_KEY == "key-@@@@)))()((9))-xxxx&&&%%%%%"
