"""Hand-made signed completion requests for engine tests that must not depend on the request
builder: the query of upstream-protocol §2.1 (a), the headers the mock checks, and §3.1's
signature for the prompt."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

from zaiproxy import core
from zaiproxy.testing import MockUpstream


def guest(mock: MockUpstream) -> tuple[str, str]:
    """A fresh guest (token, user id) minted by the mock's auths endpoint through urllib."""
    with urllib.request.urlopen(mock.url + "/api/v1/auths/") as response:
        profile = json.load(response)
    return profile["token"], profile["id"]


def completion(
    mock: MockUpstream,
    token: str,
    user_id: str,
    prompt: str = "Hello",
    *,
    model: str = "0727-360B-API",
    signature: str | None = None,
    fe_version: str = "prod-fe-1.1.98",
) -> core.HttpRequest:
    timestamp = int(time.time() * 1000)
    request_id = str(uuid.uuid4())
    chat_id = str(uuid.uuid4())
    query = urllib.parse.urlencode(
        {
            "requestId": request_id,
            "timestamp": timestamp,
            "user_id": user_id,
            "token": token,
            "version": "0.0.1",
            "platform": "web",
            "current_url": f"https://chat.z.ai/c/{chat_id}",
            "pathname": f"/c/{chat_id}",
            "signature_timestamp": timestamp,
        }
    )
    body: dict[str, Any] = {
        "stream": True,
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "signature_prompt": prompt,
        "chat_id": chat_id,
        "id": str(uuid.uuid4()),
    }
    if signature is None:
        signature = core.sign(request_id, timestamp, user_id, prompt)
    return core.HttpRequest(
        method="POST",
        url=f"{mock.url}/api/v2/chat/completions?{query}",
        headers=[
            ("Content-Type", "application/json"),
            ("Authorization", f"Bearer {token}"),
            ("X-FE-Version", fe_version),
            ("X-Signature", signature),
        ],
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
