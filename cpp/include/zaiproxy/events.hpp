// Events that flow between the pipeline stages.
//
//   bytes ─▶ SseFramer ─(SseEvent)─▶ decoder ─(SourceEvent)─▶ ThinkLayer ─(ResponseEvent)─▶ encoder
//   ─▶ bytes
//
// Events are passed by const reference to a sink and hold string_views into the producer's
// buffers: they are valid only for the duration of the call. A sink that keeps text copies it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zaiproxy {

// Token counts as reported by the upstream. All zero means "not reported".
struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;

  bool empty() const { return prompt_tokens == 0 && completion_tokens == 0 && total_tokens == 0; }
};

// A failure of the response, whatever its origin. Encoders turn it into the client API's error
// shape; the server uses `http_status` when the failure is known before the first byte went out.
struct StreamError {
  enum class Origin : uint8_t {
    Upstream,   // the upstream said so (in-stream `error` object)
    Protocol,   // the upstream's bytes could not be understood (bad JSON, oversized line, …)
    Transport,  // the connection to the upstream failed mid-response (reset, timeout)
  };
  Origin origin = Origin::Upstream;
  std::string code;  // the upstream's code as text: "426", "FRONTEND_CAPTCHA_REQUIRED", …
  bool code_is_number = false;  // the upstream sent `code` as a JSON number
  std::string message;          // human-readable; never contains a token
  int http_status = 502;        // suggested status for the client
};

const char* stream_error_origin_name(StreamError::Origin origin);  // "upstream", "protocol", …

// ───── L0: SseFramer output ─────
struct SseEvent {
  std::string_view event;  // the `event:` field, empty when absent
  std::string_view data;   // `data:` lines joined with '\n'
  std::string_view id;     // the `id:` field, empty when absent
};

class SseSink {
 public:
  virtual ~SseSink() = default;
  virtual void on_event(const SseEvent& event) = 0;
  // The stream can no longer be framed (e.g. a line over the cap). No event follows.
  virtual void on_error(const StreamError& error) = 0;
};

// ───── L1: decoder output (provider specific producers, shared consumer) ─────
enum class Phase : uint8_t { None, Thinking, Answer, ToolCall, Other, Done };

struct SourceEvent {
  enum class Kind : uint8_t {
    Thinking,   // z.ai: raw text appended to the document in phase "thinking" (quoted, opener
                // included)
    Answer,     // text appended outside thinking and outside tool blocks; generic upstreams:
                // delta.content
    Snapshot,   // z.ai: an edit rewrote text already received; `text` is the edit_content verbatim
    Reasoning,  // generic upstreams: delta.reasoning_content / delta.reasoning
    // The upstream reports that the model used a tool: a complete `<glm_block …>…</glm_block>`
    // (`text` is the whole block) or a finished `delta_name`/`delta_arguments` call (`text`
    // empty). tool_name / tool_arguments (JSON text as the upstream gave it) when known.
    ToolBlock,
    Usage,  // `usage` holds the latest non-empty counts
    Error,  // `error` is set; nothing follows
    End,    // end of the upstream response; `finish_reason` may carry the upstream's reason
  };
  Kind kind = Kind::Answer;
  Phase phase = Phase::None;
  std::string_view text;
  std::string_view tool_name;       // ToolBlock
  std::string_view tool_arguments;  // ToolBlock
  Usage usage;
  const StreamError* error = nullptr;
  std::string_view finish_reason;
};

class SourceSink {
 public:
  virtual ~SourceSink() = default;
  virtual void on_event(const SourceEvent& event) = 0;
};

// ───── L2/L3: what the client receives, before encoding ─────
enum class FinishReason : uint8_t { Stop, Length, ToolCalls, ContentFilter };

const char* finish_reason_name(FinishReason reason);  // "stop", "length", …

struct ResponseEvent {
  enum class Kind : uint8_t {
    Reasoning,  // reasoning channel (think mode "reasoning" only)
    Text,       // answer text, or reasoning rendered into the answer by the think mode
    ToolCall,   // a call for the client: tool_name, tool_arguments (compact JSON object)
    // The upstream's own report of a tool use (from a SourceEvent ToolBlock): the ToolDetector
    // turns it into a ToolCall when the client offered that tool, and drops it otherwise.
    UpstreamTool,
    Usage,   // remember; encoders report it at the end
    Error,   // terminal: nothing follows
    Finish,  // terminal: normal end with `finish`
  };
  Kind kind = Kind::Text;
  std::string_view text;
  // Text that the think mode rendered from reasoning (`<think>…`, quotes, details): it is never
  // scanned for tool calls.
  bool rendered_reasoning = false;
  std::string_view tool_name;       // ToolCall, UpstreamTool
  std::string_view tool_arguments;  // ToolCall, UpstreamTool
  Usage usage;
  const StreamError* error = nullptr;
  FinishReason finish = FinishReason::Stop;
};

class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void on_event(const ResponseEvent& event) = 0;
};

}  // namespace zaiproxy
