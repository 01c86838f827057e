"""The §3.1 X-Signature, recomputed here on purpose: the mock must not trust the signer it tests."""

from __future__ import annotations

import base64
import hashlib
import hmac

DEFAULT_SIGNING_KEY = "key-@@@@)))()((9))-xxxx&&&%%%%%"
WINDOW_MS = 300_000  # the derived key changes every five minutes


def _hmac_hex(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def expected_signature(
    request_id: str, timestamp: str, user_id: str, signature_ts: int, prompt: str, key: str
) -> str:
    """The browser's two-level HMAC; the window and the trailer come from signature_timestamp."""
    sorted_payload = f"requestId,{request_id},timestamp,{timestamp},user_id,{user_id}"
    prompt_b64 = base64.b64encode(prompt.encode()).decode()
    derived_key = _hmac_hex(key, str(signature_ts // WINDOW_MS))
    return _hmac_hex(derived_key, f"{sorted_payload}|{prompt_b64}|{signature_ts}")


def signature_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().lower(), expected)
