"""MockUpstream: a faithful chat.z.ai on 127.0.0.1, served from a background thread."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Callable

from zaiproxy.testing._app import UploadedFile, UpstreamApp
from zaiproxy.testing._http import HttpServer
from zaiproxy.testing._identity import Identity, IdentityRegistry
from zaiproxy.testing.background import BackgroundServer
from zaiproxy.testing.config import MockConfig
from zaiproxy.testing.records import RecordedRequest
from zaiproxy.testing.replies import Reply
from zaiproxy.testing.stats import Stats


class MockUpstream(BackgroundServer):
    """`with MockUpstream(min_fe_version="prod-fe-1.0.185") as mock: mock.url`.

    Keyword arguments override fields of `config` (see MockConfig). Completions answer, in order
    of precedence: a rule set by fail_request, the next enqueued Reply, `on_completion(request)`,
    then `default_reply` (an echo of the signed prompt).
    """

    thread_name = "zaiproxy-mock-upstream"

    def __init__(self, config: MockConfig | None = None, **overrides: Any) -> None:
        self.config = dataclasses.replace(config or MockConfig(), **overrides)
        self.stats = Stats()
        self._identities = IdentityRegistry(self.config.clock)
        self._app = UpstreamApp(self.config, self._identities, self.stats)
        self._http = HttpServer(self._app.handle, self.stats)
        super().__init__()
        self.port = 0

    async def serve(self, on_listening: Callable[[], None] = lambda: None) -> None:
        """Serves on the running loop until close() (also what `python -m` runs)."""
        server = await asyncio.get_running_loop().create_server(
            self._http.protocol, self.config.host, self.config.port, backlog=4096
        )
        self.port = server.sockets[0].getsockname()[1]
        on_listening()
        try:
            await self.until_stopped()
        finally:
            server.close()
            self._http.close_all()
            await asyncio.sleep(0)  # let the cancelled connection workers finish

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    # scripting

    def enqueue(self, *replies: Reply) -> None:
        """Replies for the next completions, first in first out."""
        self._app.scripted.extend(replies)

    @property
    def on_completion(self) -> Callable[[RecordedRequest], Reply] | None:
        return self._app.on_completion

    @on_completion.setter
    def on_completion(self, build: Callable[[RecordedRequest], Reply] | None) -> None:
        self._app.on_completion = build

    @property
    def default_reply(self) -> Reply:
        return self._app.default_reply

    @default_reply.setter
    def default_reply(self, reply: Reply) -> None:
        self._app.default_reply = reply

    def fail_request(
        self,
        number: int,
        status: int | None = None,
        *,
        reply: Reply | None = None,
        path: str | None = None,
    ) -> None:
        """Answers the `number`-th request (1-based) to `path` with `reply`, or with the HTTP
        error `status`, before any other check. Without `path`, counts completions on both
        endpoints together."""
        if (status is None) == (reply is None):
            raise ValueError("give either status or reply")
        self._app.fail_request(number, reply or Reply.http_error(status or 500), path)

    # identities

    def add_user(self, name: str = "Test User", role: str = "user") -> Identity:
        """Registers an account; use `.token` as the bearer and `.id` as user_id."""
        return self._identities.add(name, role)

    def add_token(self, token: str, name: str = "Guest", role: str = "guest") -> Identity:
        """Registers an existing JWT (its `id` claim becomes the user id)."""
        return self._identities.add_token(token, name, role)

    def revoke(self, token: str) -> None:
        """The token stops working (401 on completions, a fresh guest on /api/v1/auths/)."""
        self._identities.revoke(token)

    def identity(self, token: str) -> Identity | None:
        return self._identities.find(token)

    @property
    def identities(self) -> list[Identity]:
        return self._identities.all()

    @property
    def guests(self) -> list[Identity]:
        return [i for i in self._identities.all() if i.role == "guest"]

    # what happened

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self._app.requests)

    @property
    def completions(self) -> list[RecordedRequest]:
        return [r for r in self._app.requests if r.is_completion]

    @property
    def files(self) -> list[UploadedFile]:
        return list(self._app.files)
