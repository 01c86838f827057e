"""The client side of chat.z.ai: the engine bridge, typed failures, identities and the client."""

from zaiproxy.upstream.client import ChatStream, RetryPolicy, UpstreamClient
from zaiproxy.upstream.engine import EngineSettings, Response, UpstreamEngine, UpstreamStream
from zaiproxy.upstream.errors import UpstreamError
from zaiproxy.upstream.fe_version import FrontEndVersion
from zaiproxy.upstream.identities import GuestPoolSettings, IdentityProvider, Session

__all__ = [
    "ChatStream",
    "EngineSettings",
    "FrontEndVersion",
    "GuestPoolSettings",
    "IdentityProvider",
    "Response",
    "RetryPolicy",
    "Session",
    "UpstreamClient",
    "UpstreamEngine",
    "UpstreamError",
    "UpstreamStream",
]
