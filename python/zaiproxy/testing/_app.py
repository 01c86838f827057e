"""The chat.z.ai endpoints (§1) over the mock's state: identities, chats, files, scripts."""

from __future__ import annotations

import collections
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable, Optional

from zaiproxy.testing import _catalogue
from zaiproxy.testing._events import compact_json
from zaiproxy.testing._http import HttpRequest, Response
from zaiproxy.testing._identity import Identity, IdentityRegistry
from zaiproxy.testing._streaming import send_reply
from zaiproxy.testing._verify import CompletionVerifier, VerifierSettings
from zaiproxy.testing.config import MockConfig
from zaiproxy.testing.records import COMPLETION_PATHS, RecordedRequest
from zaiproxy.testing.replies import HTML, Reply
from zaiproxy.testing.stats import Stats

COMPLETIONS = "completions"  # the rule key shared by the v1 and v2 completion endpoints
# Open WebUI (which chat.z.ai derives from) answers a role without upload rights like this.
GUEST_UPLOAD_REFUSED = Reply.http_error(
    401,
    '{"detail":"You do not have permission to access this resource. '
    'Please contact your administrator for assistance."}',
)
# SSD: skipping chats/new makes the stream end with INTERNAL_ERROR in the done phase.
CHAT_NOT_CREATED = {"detail": "Internal error", "code": "INTERNAL_ERROR"}

Route = Callable[[HttpRequest], "tuple[Optional[Identity], Reply]"]


def echo_reply(request: RecordedRequest) -> Reply:
    """What an unscripted completion answers: the signed prompt, word by word."""
    words = f"echo: {request.signature_prompt}".split(" ")
    return Reply.answer([w if i == 0 else " " + w for i, w in enumerate(words)])


@dataclass(frozen=True)
class UploadedFile:
    id: str
    user_id: str
    filename: str
    content_type: str
    data: bytes

    def record(self, now: int) -> dict[str, Any]:
        meta = {
            "name": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
            "cdn_url": f"https://z-cdn.chatglm.cn/z-ai/files/{self.id}_{self.filename}",
            "data": {},
        }
        return {
            "id": self.id,
            "user_id": self.user_id,
            "hash": None,
            "filename": self.filename,
            "data": {},
            "meta": meta,
            "created_at": now,
            "updated_at": now,
        }


def multipart_file(request: HttpRequest) -> tuple[str, str, bytes] | None:
    """(filename, content type, bytes) of the multipart field `file`, if present."""
    header = Message()
    header["content-type"] = request.headers.get("content-type", "")
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return None
    for part in request.body.split(b"--" + boundary.encode())[1:-1]:
        head, _, data = part.strip(b"\r\n").partition(b"\r\n\r\n")
        part_headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            part_headers[name.strip()] = value.strip()
        disposition = Message()
        disposition["content-type"] = "x/" + part_headers.get("content-disposition", "")
        if disposition.get_param("name") == "file":
            filename = str(disposition.get_param("filename") or "upload")
            content_type = part_headers.get("content-type", "application/octet-stream")
            return filename, content_type, data
    return None


class UpstreamApp:
    """Routes each request, records it, and sends the reply (scripted or by the rules)."""

    def __init__(self, config: MockConfig, identities: IdentityRegistry, stats: Stats) -> None:
        self.config = config
        self.identities = identities
        self.stats = stats
        stale = Reply.waf_blocked() if config.stale_version_status == 405 else None
        self._verifier = CompletionVerifier(
            VerifierSettings(
                min_fe_version=config.min_fe_version,
                stale_version_reply=stale or Reply.http_error(config.stale_version_status),
                signing_key=config.signing_key,
                signature_tolerance=config.signature_tolerance,
                clock=config.clock,
            ),
            identities,
        )
        self._known_models = {m.id for m in config.models}
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.files: list[UploadedFile] = []
        self.scripted: collections.deque[Reply] = collections.deque()
        self.default_reply = Reply(resolve=echo_reply)
        self.on_completion: Callable[[RecordedRequest], Reply] | None = None
        self._rules: dict[tuple[str, int], Reply] = {}
        self._counts: collections.Counter[str] = collections.Counter()
        self._routes: dict[tuple[str, str], Route] = {
            ("GET", "/"): self._landing,
            ("GET", "/api/v1/auths/"): self._auths,
            ("GET", "/api/models"): self._models,
            ("POST", "/api/v1/chats/new"): self._new_chat,
            ("POST", "/api/v1/files/"): self._upload,
            ("DELETE", "/api/v1/chats/"): self._delete_chats,
            **{("POST", path): self._completion for path in COMPLETION_PATHS},
        }

    def fail_request(self, number: int, reply: Reply, path: str | None) -> None:
        with self._lock:
            self._rules[(path or COMPLETIONS, number)] = reply

    async def handle(self, request: HttpRequest, response: Response) -> None:
        key = COMPLETIONS if request.path in COMPLETION_PATHS else request.path
        with self._lock:
            self._counts[key] += 1
            rule = self._rules.pop((key, self._counts[key]), None)
            number = len(self.requests) + 1
        if rule is not None:
            identity, reply = self.identities.find(request.bearer()), rule
        else:
            route = self._routes.get((request.method, request.path), self._not_found)
            identity, reply = route(request)
        record = RecordedRequest.of(number, request, identity)
        with self._lock:
            self.requests.append(record)
        await send_reply(response, reply.for_request(record), self.stats)

    # routes: each returns the identity the request acted as and the reply

    def _not_found(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        return self.identities.find(request.bearer()), Reply.http_error(404)

    def _landing(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        page = _catalogue.landing_page(self.config.fe_versions).encode()
        waf_cookie = ("Set-Cookie", f"acw_tc={secrets.token_hex(16)}; Path=/; HttpOnly")
        return None, Reply(content_type=HTML, body=page, headers=(waf_cookie,))

    def _auths(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        if self.config.auth_blocked_by_waf:
            return None, Reply.waf_blocked()
        bearer = request.bearer()
        identity = self.identities.find(bearer or request.cookies().get("token"))
        # §1.2 quirk: an unknown or revoked bearer is not refused, it silently gets a new guest.
        if identity is None:
            identity = self.identities.mint_guest()
        reply = Reply.json(identity.profile())
        cookie = ("Set-Cookie", f"token={identity.token}; Path=/; SameSite=Lax")
        return identity, Reply(content_type=reply.content_type, body=reply.body, headers=(cookie,))

    def _models(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        identity = self.identities.find(request.bearer())
        if identity is None:
            return None, Reply.http_error(401)
        return identity, Reply.json(_catalogue.models_response(self.config.models))

    def _new_chat(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        identity = self.identities.find(request.bearer())
        if identity is None:
            return None, Reply.http_error(401)
        chat_id = str(uuid.uuid4())
        with self._lock:
            identity.chats.add(chat_id)
        now = int(self.config.clock())
        chat = _json_object(request.body).get("chat", {})
        created = {"id": chat_id, "user_id": identity.id, "title": "新聊天", "chat": chat}
        return identity, Reply.json({**created, "created_at": now, "updated_at": now})

    def _upload(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        identity = self.identities.find(request.bearer())
        if identity is None:
            return None, Reply.http_error(401)
        if identity.role == "guest":
            return identity, GUEST_UPLOAD_REFUSED
        upload = multipart_file(request)
        if upload is None:
            return identity, Reply.http_error(400, '{"detail":"no multipart field named file"}')
        filename, content_type, data = upload
        uploaded = UploadedFile(str(uuid.uuid4()), identity.id, filename, content_type, data)
        with self._lock:
            self.files.append(uploaded)
        return identity, Reply.json(uploaded.record(int(self.config.clock())))

    def _delete_chats(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        identity = self.identities.find(request.bearer())
        if identity is None:
            return None, Reply.http_error(401)
        with self._lock:
            identity.deleted_chats += len(identity.chats)
            identity.delete_all_calls += 1
            identity.chats.clear()
        return identity, Reply.json(True)

    def _completion(self, request: HttpRequest) -> tuple[Identity | None, Reply]:
        body = _json_object(request.body)
        prompt = body.get("signature_prompt")
        verdict = self._verifier.check(request, prompt if isinstance(prompt, str) else "")
        identity = verdict.identity
        if verdict.failure is not None or identity is None:
            return identity, verdict.failure or Reply.http_error(401)
        model = body.get("model")
        if body.get("stream") is not True or model not in self._known_models:
            detail = f"mock upstream: need stream: true and a known model, got {model!r}"
            return identity, Reply.http_error(400, compact_json({"detail": detail}))
        if identity.role == "guest" and model in self.config.guest_refused_models:
            return identity, Reply.model_not_available()
        reply = self._next_reply()
        with self._lock:
            chat_created = body.get("chat_id") in identity.chats
        if model in self.config.persisted_models and not chat_created:
            reply = reply.ending_with_error(CHAT_NOT_CREATED)
        return identity, reply

    def _next_reply(self) -> Reply:
        try:
            return self.scripted.popleft()
        except IndexError:
            pass
        if self.on_completion is not None:
            return Reply(resolve=self.on_completion)
        return self.default_reply


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
