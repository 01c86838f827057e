"""The C++ core: each pipeline stage on its own, and the whole ``Pipeline``.

Feed raw upstream bytes and get exactly what a client would receive::

    from zaiproxy import core
    p = core.Pipeline(output="openai-sse", think="reasoning", model="GLM-4.5")
    out = p.feed(captured_bytes) + p.finish()
"""

from zaiproxy._core import (
    DEFAULT_SIGNING_KEY,
    Aggregator,
    AnthropicEncoder,
    Engine,
    HttpRequest,
    OpenAiChunkDecoder,
    OpenAiEncoder,
    Pipeline,
    PipelineOptions,
    RequestError,
    ResponseEvent,
    SourceEvent,
    SseEvent,
    SseFramer,
    Stream,
    ThinkLayer,
    ToolDetector,
    ZaiDecoder,
    __version__,
    build_upstream_messages,
    http_failure,
    make_trigger,
    process_trigger,
    set_process_trigger,
    sign,
    validate_prompt_template,
)

__all__ = [
    "DEFAULT_SIGNING_KEY",
    "Aggregator",
    "AnthropicEncoder",
    "Engine",
    "HttpRequest",
    "OpenAiChunkDecoder",
    "OpenAiEncoder",
    "Pipeline",
    "PipelineOptions",
    "RequestError",
    "ResponseEvent",
    "SourceEvent",
    "SseEvent",
    "SseFramer",
    "Stream",
    "ThinkLayer",
    "ToolDetector",
    "ZaiDecoder",
    "__version__",
    "build_upstream_messages",
    "http_failure",
    "make_trigger",
    "process_trigger",
    "set_process_trigger",
    "sign",
    "validate_prompt_template",
]
