"""The client side of chat.z.ai: the engine bridge, typed failures and identities."""

from zaiproxy.upstream.engine import EngineSettings, Response, UpstreamEngine, UpstreamStream
from zaiproxy.upstream.errors import UpstreamError

__all__ = ["EngineSettings", "Response", "UpstreamEngine", "UpstreamError", "UpstreamStream"]
