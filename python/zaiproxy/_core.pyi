"""Stubs for the compiled module zaiproxy._core (hand-written; keep in step with cpp/bindings)."""

from typing import Any, Callable, Literal, TypedDict, overload

__version__: str
DEFAULT_SIGNING_KEY: str

BytesLike = bytes | bytearray | memoryview
OutputName = Literal["openai-sse", "openai-json", "anthropic-sse", "anthropic-json"]
ThinkModeName = Literal["reasoning", "think", "quote", "strip", "details", "drop", "raw"]
SourceKind = Literal[
    "thinking", "answer", "snapshot", "reasoning", "tool_block", "usage", "error", "end"
]
PhaseName = Literal["none", "thinking", "answer", "tool_call", "other", "done"]
ResponseKind = Literal[
    "reasoning", "text", "tool_call", "upstream_tool", "usage", "error", "finish"
]
FinishReasonName = Literal["stop", "length", "tool_calls", "content_filter"]

class UsageDict(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

class ErrorDict(TypedDict):
    code: int | str
    message: str
    origin: Literal["upstream", "protocol", "transport"]
    http_status: int

def sign(request_id: str, timestamp_ms: int, user_id: str, prompt: str, key: str = ...) -> str: ...

class SseEvent:
    @property
    def event(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def id(self) -> str: ...

class SseFramer:
    def __init__(self, max_line_bytes: int = ..., dispatch_json_lines: bool = True) -> None: ...
    def feed(self, data: BytesLike) -> list[SseEvent]: ...
    def finish(self) -> list[SseEvent]: ...

class SourceEvent:
    def __init__(
        self,
        kind: SourceKind,
        text: str = "",
        phase: PhaseName = "none",
        usage: UsageDict | None = None,
        error: dict | None = None,
        finish_reason: str = "",
        tool_name: str = "",
        tool_arguments: str = "",
    ) -> None: ...
    @property
    def kind(self) -> SourceKind: ...
    @property
    def phase(self) -> PhaseName: ...
    @property
    def text(self) -> str: ...
    @property
    def usage(self) -> UsageDict: ...
    @property
    def error(self) -> ErrorDict | None: ...
    @property
    def finish_reason(self) -> str: ...
    @property
    def tool_name(self) -> str: ...
    @property
    def tool_arguments(self) -> str: ...

class ResponseEvent:
    def __init__(
        self,
        kind: ResponseKind,
        text: str = "",
        rendered_reasoning: bool = False,
        usage: UsageDict | None = None,
        error: dict | None = None,
        finish_reason: FinishReasonName = "stop",
        tool_name: str = "",
        tool_arguments: str = "",
    ) -> None: ...
    @property
    def kind(self) -> ResponseKind: ...
    @property
    def text(self) -> str: ...
    @property
    def rendered_reasoning(self) -> bool: ...
    @property
    def usage(self) -> UsageDict: ...
    @property
    def error(self) -> ErrorDict | None: ...
    @property
    def finish_reason(self) -> FinishReasonName: ...
    @property
    def tool_name(self) -> str: ...
    @property
    def tool_arguments(self) -> str: ...

class ZaiDecoder:
    def __init__(self) -> None: ...
    def feed(self, data: str | BytesLike) -> list[SourceEvent]: ...
    def finish(self) -> list[SourceEvent]: ...
    @property
    def ended(self) -> bool: ...
    @property
    def document(self) -> str: ...

class OpenAiChunkDecoder:
    def __init__(self) -> None: ...
    def feed(self, data: str | BytesLike) -> list[SourceEvent]: ...
    def finish(self) -> list[SourceEvent]: ...
    @property
    def ended(self) -> bool: ...

class ThinkLayer:
    def __init__(
        self,
        mode: ThinkModeName = "reasoning",
        source: Literal["zai", "generic"] = "zai",
        inline_think: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None: ...
    def feed(self, event: SourceEvent) -> list[ResponseEvent]: ...
    def finish(self) -> list[ResponseEvent]: ...

class ToolDetector:
    def __init__(
        self,
        tools: list[dict[str, Any]] | None,
        tool_choice: str | dict[str, Any] | None = None,
        parallel_tool_calls: bool = True,
        trigger: str | None = None,
    ) -> None: ...
    def feed(self, event: ResponseEvent) -> list[ResponseEvent]: ...
    def finish(self) -> list[ResponseEvent]: ...

class _Encoder:
    def feed(self, event: ResponseEvent) -> bytes: ...
    def finish(self) -> bytes: ...
    @property
    def id(self) -> str: ...
    @property
    def created(self) -> int: ...

class OpenAiEncoder(_Encoder):
    def __init__(
        self,
        model: str,
        id: str | None = None,
        created: int | None = None,
        include_usage: bool = False,
    ) -> None: ...

class AnthropicEncoder(_Encoder):
    def __init__(self, model: str, id: str | None = None, input_tokens: int = 0) -> None: ...

class Aggregator(_Encoder):
    def __init__(
        self,
        format: Literal["openai", "anthropic"],
        model: str,
        id: str | None = None,
        created: int | None = None,
        input_tokens: int = 0,
        reasoning_field: bool = True,
    ) -> None: ...

class PipelineOptions:
    """Everything that shapes one response; what a Pipeline is built from."""

    def __init__(
        self,
        *,
        output: OutputName = "openai-sse",
        think: ThinkModeName = "reasoning",
        model: str = "GLM-4.5",
        include_usage: bool = False,
        upstream: Literal["zai", "openai"] = "zai",
        id: str | None = None,
        created: int | None = None,
        input_tokens: int = 0,
        clock: Callable[[], float] | None = None,
        max_line_bytes: int = ...,
        # OpenAI- or Anthropic-shaped tools; tool_choice in the same API's shape.
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        parallel_tool_calls: bool = True,
        trigger: str | None = None,
    ) -> None: ...
    @property
    def model(self) -> str: ...
    @property
    def id(self) -> str: ...

class Pipeline:
    @overload
    def __init__(self, options: PipelineOptions) -> None: ...
    @overload
    def __init__(
        self,
        *,
        output: OutputName = "openai-sse",
        think: ThinkModeName = "reasoning",
        model: str = "GLM-4.5",
        include_usage: bool = False,
        upstream: Literal["zai", "openai"] = "zai",
        id: str | None = None,
        created: int | None = None,
        input_tokens: int = 0,
        clock: Callable[[], float] | None = None,
        max_line_bytes: int = ...,
        # OpenAI- or Anthropic-shaped tools; tool_choice in the same API's shape.
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        parallel_tool_calls: bool = True,
        trigger: str | None = None,
    ) -> None: ...
    def feed(self, data: BytesLike) -> bytes: ...
    def finish(self) -> bytes: ...
    @property
    def id(self) -> str: ...
    @property
    def created(self) -> int: ...
    @property
    def model(self) -> str: ...
    @property
    def error(self) -> ErrorDict | None: ...
    @property
    def usage(self) -> UsageDict | None: ...
    @property
    def finish_reason(self) -> FinishReasonName | None: ...

class RequestError(ValueError):
    """A request the client must fix (HTTP 400)."""

    param: str
    status: int

class ToolOptionsDict(TypedDict):
    tools: list[dict[str, Any]]
    tool_choice: Literal["auto", "none", "required", "named"]
    tool_choice_name: str
    trigger: str
    parallel_tool_calls: bool

class UpstreamMessages(TypedDict):
    messages: list[dict[str, Any]]
    tool_options: ToolOptionsDict

def build_upstream_messages(
    request: dict[str, Any],
    dialect: Literal["openai", "anthropic"] = "openai",
    *,
    trigger: str | None = None,
    prompt_template: str | None = None,
    developer_as_system: bool = True,
) -> UpstreamMessages: ...
def validate_prompt_template(prompt_template: str) -> None: ...
def make_trigger(seed: int | None = None, length: int = 4) -> str: ...
def process_trigger() -> str: ...
def set_process_trigger(trigger: str) -> None: ...

class HttpRequest:
    """One upstream HTTP request: method, URL, headers, body."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    def __init__(
        self,
        *,
        method: str = "GET",
        url: str,
        headers: list[tuple[str, str]] = ...,
        body: bytes | bytearray | memoryview | None = None,
    ) -> None: ...
    def header(self, name: str) -> str | None: ...

class FailureDict(TypedDict):
    kind: Literal["http", "in_stream", "connect", "timeout", "network", "cancelled"]
    http_status: int
    code: str
    message: str
    body: bytes

class EngineStatsDict(TypedDict):
    active: int
    opened: int
    completed: int
    failed: int
    cancelled: int
    paused: int
    bytes_received: int
    bytes_delivered: int
    cpu_seconds: float

class Stream:
    """One upstream request in flight; its output is taken in batches."""

    @property
    def id(self) -> int: ...
    def take(self) -> tuple[bytes, bool]: ...
    def wait(self, timeout: float) -> bool: ...
    def cancel(self) -> None: ...
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def failure(self) -> FailureDict | None: ...
    @property
    def error(self) -> ErrorDict | None: ...
    @property
    def usage(self) -> UsageDict | None: ...
    @property
    def finish_reason(self) -> FinishReasonName | None: ...

class Engine:
    """The upstream engine: one libcurl thread for all requests of the process."""

    def __init__(
        self,
        *,
        stream_buffer_bytes: int = ...,
        connect_timeout: float = 10.0,
        first_byte_timeout: float = 90.0,
        idle_timeout: float = 120.0,
        proxy: str = "",
        no_proxy: str = "",
        verify_tls: bool = True,
        ca_file: str = "",
        receive_buffer_bytes: int = ...,
    ) -> None: ...
    def open(self, request: HttpRequest, pipeline: PipelineOptions | None = None) -> Stream: ...
    @property
    def ready_fd(self) -> int: ...
    def take_ready(self) -> list[int]: ...
    def stats(self) -> EngineStatsDict: ...
    def stop(self) -> None: ...

def http_failure(status: int, body: bytes | bytearray | memoryview) -> FailureDict: ...

# ── protocol profile and request builder ──

class ModelDict(TypedDict):
    alias: str
    upstream_id: str
    name: str
    enable_thinking: bool
    web_search: bool
    preview_mode: bool
    mcp_servers: list[str]
    needs_chat_creation: bool
    guest_allowed: bool
    vision: bool
    known: bool

class EndpointsDict(TypedDict):
    landing: str
    completions: str
    auths: str
    models: str
    chats_new: str
    chats_delete: str
    files: str

class LocalTimeDict(TypedDict):
    datetime: str
    date: str
    time: str
    weekday: str

class UploadDict(TypedDict):
    media_type: str
    size: int
    data: bytes

class Profile:
    """The protocol profile: everything chat.z.ai can change."""

    def __init__(self, json_text: str) -> None: ...
    @property
    def origin(self) -> str: ...
    @property
    def fe_version_fallback(self) -> str: ...
    @property
    def signing_key(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def endpoints(self) -> EndpointsDict: ...
    @property
    def default_model(self) -> str: ...
    def url(self, path: str) -> str: ...
    def resolve_model(self, name: str) -> ModelDict: ...
    def models(self) -> list[ModelDict]: ...

class Identity:
    """Who a request is sent as."""

    token: str
    user_id: str
    name: str
    guest: bool
    def __init__(
        self, *, token: str, user_id: str | None = None, name: str = "", guest: bool = True
    ) -> None: ...

def jwt_user_id(token: str) -> str: ...

class RequestContext:
    """Ids, timestamp and front-end version of one upstream call."""

    def __init__(
        self,
        profile: Profile,
        *,
        fe_version: str | None = None,
        request_id: str | None = None,
        chat_id: str | None = None,
        user_message_id: str | None = None,
        assistant_message_id: str | None = None,
        session_id: str | None = None,
        timestamp_ms: int | None = None,
    ) -> None: ...
    @property
    def request_id(self) -> str: ...
    @property
    def chat_id(self) -> str: ...
    @property
    def user_message_id(self) -> str: ...
    @property
    def assistant_message_id(self) -> str: ...
    @property
    def session_id(self) -> str: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def fe_version(self) -> str: ...
    @property
    def local_time(self) -> LocalTimeDict: ...

class UploadedFile:
    """An uploaded image the completion refers to."""

    @property
    def id(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def cdn_url(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def item_id(self) -> str: ...

class ChatPlan:
    """One chat request, read once; writes its upstream requests."""

    @property
    def model(self) -> str: ...
    @property
    def upstream_model(self) -> str: ...
    @property
    def response_model(self) -> str: ...
    @property
    def resolved_model(self) -> ModelDict: ...
    @property
    def needs_chat_creation(self) -> bool: ...
    @property
    def guest_allowed(self) -> bool: ...
    @property
    def signature_prompt(self) -> str: ...
    @property
    def enable_thinking(self) -> bool: ...
    @property
    def web_search(self) -> bool: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def messages(self) -> list[dict[str, Any]]: ...
    @property
    def uploads(self) -> list[UploadDict]: ...
    def completion_request(
        self,
        identity: Identity,
        context: RequestContext | None = None,
        *,
        chat_id: str | None = None,
        files: list[UploadedFile] | None = None,
    ) -> HttpRequest: ...
    def chat_creation_request(
        self,
        identity: Identity,
        context: RequestContext | None = None,
        *,
        files: list[UploadedFile] | None = None,
    ) -> HttpRequest: ...
    def upload_request(
        self,
        identity: Identity,
        index: int,
        context: RequestContext | None = None,
        *,
        boundary: str | None = None,
        filename: str | None = None,
    ) -> HttpRequest: ...
    def pipeline_options(
        self,
        *,
        output: OutputName = "openai-sse",
        think: ThinkModeName = "reasoning",
        include_usage: bool = False,
        id: str | None = None,
        created: int | None = None,
        input_tokens: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> PipelineOptions: ...

def plan_chat(
    profile: Profile,
    request: bytes | str | dict[str, Any],
    dialect: Literal["openai", "anthropic"] = "openai",
    *,
    trigger: str | None = None,
    prompt_template: str | None = None,
) -> ChatPlan: ...
def parse_chat_creation_response(body: BytesLike) -> str: ...
def parse_upload_response(body: BytesLike) -> UploadedFile: ...
def parse_auth_response(body: BytesLike) -> Identity: ...
def landing_page_request(profile: Profile) -> HttpRequest: ...
def auth_request(
    profile: Profile, token: str | None = None, fe_version: str = ""
) -> HttpRequest: ...
def models_request(profile: Profile, token: str, fe_version: str = "") -> HttpRequest: ...
def delete_chats_request(profile: Profile, token: str, fe_version: str = "") -> HttpRequest: ...
def discover_fe_version(landing_html: str | BytesLike) -> str | None: ...
def compare_fe_versions(a: str, b: str) -> int: ...
