// Each pipeline stage on its own, for notebooks and for other proxies that reuse one stage.
// Events cross into Python as small owned objects; their kinds are plain strings.
#include <pybind11/stl.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "zaiproxy/openai_chunk_decoder.hpp"
#include "zaiproxy/sse_framer.hpp"
#include "zaiproxy/tool_detector.hpp"
#include "zaiproxy/zai_decoder.hpp"

namespace zaiproxy::bindings {

namespace {

// ── names ──
constexpr std::array<const char*, 8> kSourceKinds = {
    "thinking", "answer", "snapshot", "reasoning", "tool_block", "usage", "error", "end"};
constexpr std::array<const char*, 6> kPhases = {"none",      "thinking", "answer",
                                                "tool_call", "other",    "done"};
constexpr std::array<const char*, 7> kResponseKinds = {
    "reasoning", "text", "tool_call", "upstream_tool", "usage", "error", "finish"};

template <typename Enum, size_t N>
Enum enum_from(const std::array<const char*, N>& names, std::string_view name, const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (name == names[i]) return static_cast<Enum>(i);
  throw py::value_error(std::string("unknown ") + what + " '" + std::string(name) + "'");
}

template <typename Enum, size_t N>
const char* enum_name(const std::array<const char*, N>& names, Enum value) {
  return names[static_cast<size_t>(value)];
}

FinishReason finish_reason_from(std::string_view name) {
  for (FinishReason reason : {FinishReason::Stop, FinishReason::Length, FinishReason::ToolCalls,
                              FinishReason::ContentFilter})
    if (name == finish_reason_name(reason)) return reason;
  throw py::value_error("unknown finish reason '" + std::string(name) + "'");
}

Usage usage_from_py(const py::object& obj) {
  Usage usage;
  if (obj.is_none()) return usage;
  auto d = obj.cast<py::dict>();
  usage.prompt_tokens = d.contains("prompt_tokens") ? d["prompt_tokens"].cast<int64_t>() : 0;
  usage.completion_tokens =
      d.contains("completion_tokens") ? d["completion_tokens"].cast<int64_t>() : 0;
  usage.total_tokens = d.contains("total_tokens") ? d["total_tokens"].cast<int64_t>() : 0;
  return usage;
}

StreamError error_from_py(const py::dict& d) {
  StreamError error;
  if (d.contains("code")) {
    py::object code = d["code"];
    error.code_is_number = py::isinstance<py::int_>(code);
    error.code = py::str(code);
  }
  if (d.contains("message")) error.message = d["message"].cast<std::string>();
  if (d.contains("http_status")) error.http_status = d["http_status"].cast<int>();
  if (d.contains("origin") && d["origin"].cast<std::string>() == "protocol")
    error.origin = StreamError::Origin::Protocol;
  return error;
}

// ── owned events ──
struct PySseEvent {
  std::string event, data, id;
};

struct PySourceEvent {
  SourceEvent::Kind kind = SourceEvent::Kind::Answer;
  Phase phase = Phase::None;
  std::string text;
  std::string tool_name;
  std::string tool_arguments;
  Usage usage;
  std::optional<StreamError> error;
  std::string finish_reason;

  SourceEvent view() const {
    SourceEvent e;
    e.kind = kind;
    e.phase = phase;
    e.text = text;
    e.tool_name = tool_name;
    e.tool_arguments = tool_arguments;
    e.usage = usage;
    e.error = error ? &*error : nullptr;
    e.finish_reason = finish_reason;
    return e;
  }
};

struct PyResponseEvent {
  ResponseEvent::Kind kind = ResponseEvent::Kind::Text;
  std::string text;
  bool rendered_reasoning = false;
  std::string tool_name;
  std::string tool_arguments;
  Usage usage;
  std::optional<StreamError> error;
  FinishReason finish = FinishReason::Stop;

  ResponseEvent view() const {
    ResponseEvent e;
    e.kind = kind;
    e.text = text;
    e.rendered_reasoning = rendered_reasoning;
    e.tool_name = tool_name;
    e.tool_arguments = tool_arguments;
    e.usage = usage;
    e.error = error ? &*error : nullptr;
    e.finish = finish;
    return e;
  }
};

// ── collecting sinks ──
struct SseCollector final : SseSink {
  std::vector<PySseEvent> events;
  std::optional<StreamError> error;
  void on_event(const SseEvent& e) override {
    events.push_back({std::string(e.event), std::string(e.data), std::string(e.id)});
  }
  void on_error(const StreamError& e) override { error = e; }
};

struct SourceCollector final : SourceSink {
  std::vector<PySourceEvent> events;
  void on_event(const SourceEvent& e) override {
    PySourceEvent owned;
    owned.kind = e.kind;
    owned.phase = e.phase;
    owned.text = std::string(e.text);
    owned.tool_name = std::string(e.tool_name);
    owned.tool_arguments = std::string(e.tool_arguments);
    owned.usage = e.usage;
    if (e.error) owned.error = *e.error;
    owned.finish_reason = std::string(e.finish_reason);
    events.push_back(std::move(owned));
  }
};

struct ResponseCollector final : ResponseSink {
  std::vector<PyResponseEvent> events;
  void on_event(const ResponseEvent& e) override {
    PyResponseEvent owned;
    owned.kind = e.kind;
    owned.text = std::string(e.text);
    owned.rendered_reasoning = e.rendered_reasoning;
    owned.tool_name = std::string(e.tool_name);
    owned.tool_arguments = std::string(e.tool_arguments);
    owned.usage = e.usage;
    if (e.error) owned.error = *e.error;
    owned.finish = e.finish;
    events.push_back(std::move(owned));
  }
};

// A framer error surfaces as an exception: a notebook user feeding bytes by hand wants to see it.
std::vector<PySseEvent> drain(SseCollector& sink) {
  if (sink.error) throw py::value_error(sink.error->message);
  return std::move(sink.events);
}

// ── stage wrappers that own their stage ──
class PyEncoder {
 public:
  explicit PyEncoder(std::unique_ptr<ResponseEncoder> encoder) : encoder_(std::move(encoder)) {}
  py::bytes feed(const PyResponseEvent& event) {
    std::string out;
    encoder_->feed(event.view(), out);
    return to_bytes(out);
  }
  py::bytes finish() {
    std::string out;
    encoder_->finish(out);
    return to_bytes(out);
  }
  const ResponseInfo& info() const { return encoder_->info(); }

 private:
  std::unique_ptr<ResponseEncoder> encoder_;
};

struct OpenAiEncoderBinding : PyEncoder {
  using PyEncoder::PyEncoder;
};
struct AnthropicEncoderBinding : PyEncoder {
  using PyEncoder::PyEncoder;
};
struct AggregatorBinding : PyEncoder {
  using PyEncoder::PyEncoder;
};

template <typename Binding>
py::class_<Binding> bind_encoder(py::module_& m, const char* name, const char* doc) {
  return py::class_<Binding>(m, name, doc)
      .def("feed", &Binding::feed, py::arg("event"))
      .def("finish", &Binding::finish)
      .def_property_readonly("id", [](const Binding& e) { return e.info().id; })
      .def_property_readonly("created", [](const Binding& e) { return e.info().created; });
}

template <typename Decoder>
py::class_<Decoder> bind_decoder(py::module_& m, const char* name, const char* doc) {
  return py::class_<Decoder>(m, name, doc)
      .def(py::init<>())
      .def(
          "feed",
          [](Decoder& decoder, const py::object& data) {
            SourceCollector sink;
            if (py::isinstance<py::str>(data))
              decoder.feed(data.cast<std::string>(), sink);
            else
              decoder.feed(ByteView(data).view(), sink);
            return std::move(sink.events);
          },
          py::arg("data"), "Decode one SSE data payload (str or bytes) into SourceEvents.")
      .def("finish",
           [](Decoder& decoder) {
             SourceCollector sink;
             decoder.finish(sink);
             return std::move(sink.events);
           })
      .def_property_readonly("ended", &Decoder::ended);
}

}  // namespace

void register_stages(py::module_& m) {
  py::class_<PySseEvent>(m, "SseEvent", "One Server-Sent Event.")
      .def_readonly("event", &PySseEvent::event)
      .def_property_readonly("data", [](const PySseEvent& e) { return to_bytes(e.data); })
      .def_readonly("id", &PySseEvent::id)
      .def("__repr__", [](const PySseEvent& e) {
        return "SseEvent(event=" + py::repr(py::str(e.event)).cast<std::string>() +
               ", data=" + py::repr(to_bytes(e.data)).cast<std::string>() + ")";
      });

  py::class_<SseFramer>(m, "SseFramer", "L0: bytes to Server-Sent Events, incrementally.")
      .def(py::init([](size_t max_line_bytes, bool dispatch_json_lines) {
             return SseFramer(SseFramerOptions{max_line_bytes, dispatch_json_lines});
           }),
           py::arg("max_line_bytes") = SseFramerOptions{}.max_line_bytes,
           py::arg("dispatch_json_lines") = true)
      .def(
          "feed",
          [](SseFramer& framer, const py::object& data) {
            SseCollector sink;
            framer.feed(ByteView(data).view(), sink);
            return drain(sink);
          },
          py::arg("data"))
      .def("finish", [](SseFramer& framer) {
        SseCollector sink;
        framer.finish(sink);
        return drain(sink);
      });

  py::class_<PySourceEvent>(m, "SourceEvent", "What a provider's decoder reports.")
      .def(py::init([](std::string_view kind, std::string text, std::string_view phase,
                       const py::object& usage, const std::optional<py::dict>& error,
                       std::string finish_reason, std::string tool_name,
                       std::string tool_arguments) {
             PySourceEvent e;
             e.kind = enum_from<SourceEvent::Kind>(kSourceKinds, kind, "source event kind");
             e.phase = enum_from<Phase>(kPhases, phase, "phase");
             e.text = std::move(text);
             e.tool_name = std::move(tool_name);
             e.tool_arguments = std::move(tool_arguments);
             e.usage = usage_from_py(usage);
             if (error) e.error = error_from_py(*error);
             e.finish_reason = std::move(finish_reason);
             return e;
           }),
           py::arg("kind"), py::arg("text") = "", py::arg("phase") = "none",
           py::arg("usage") = py::none(), py::arg("error") = py::none(),
           py::arg("finish_reason") = "", py::arg("tool_name") = "", py::arg("tool_arguments") = "")
      .def_property_readonly("kind",
                             [](const PySourceEvent& e) { return enum_name(kSourceKinds, e.kind); })
      .def_property_readonly("phase",
                             [](const PySourceEvent& e) { return enum_name(kPhases, e.phase); })
      .def_readonly("text", &PySourceEvent::text)
      .def_property_readonly("usage", [](const PySourceEvent& e) { return usage_to_py(e.usage); })
      .def_property_readonly("error",
                             [](const PySourceEvent& e) -> py::object {
                               return e.error ? py::object(error_to_py(*e.error))
                                              : py::object(py::none());
                             })
      .def_readonly("finish_reason", &PySourceEvent::finish_reason)
      .def_readonly("tool_name", &PySourceEvent::tool_name)
      .def_readonly("tool_arguments", &PySourceEvent::tool_arguments)
      .def("__repr__", [](const PySourceEvent& e) {
        return std::string("SourceEvent(") + enum_name(kSourceKinds, e.kind) + ", " +
               py::repr(py::str(e.text)).cast<std::string>() + ")";
      });

  py::class_<PyResponseEvent>(m, "ResponseEvent", "What the client receives, before encoding.")
      .def(py::init([](std::string_view kind, std::string text, bool rendered_reasoning,
                       const py::object& usage, const std::optional<py::dict>& error,
                       std::string_view finish_reason, std::string tool_name,
                       std::string tool_arguments) {
             PyResponseEvent e;
             e.kind = enum_from<ResponseEvent::Kind>(kResponseKinds, kind, "response event kind");
             e.text = std::move(text);
             e.rendered_reasoning = rendered_reasoning;
             e.tool_name = std::move(tool_name);
             e.tool_arguments = std::move(tool_arguments);
             e.usage = usage_from_py(usage);
             if (error) e.error = error_from_py(*error);
             e.finish = finish_reason_from(finish_reason);
             return e;
           }),
           py::arg("kind"), py::arg("text") = "", py::arg("rendered_reasoning") = false,
           py::arg("usage") = py::none(), py::arg("error") = py::none(),
           py::arg("finish_reason") = "stop", py::arg("tool_name") = "",
           py::arg("tool_arguments") = "")
      .def_property_readonly(
          "kind", [](const PyResponseEvent& e) { return enum_name(kResponseKinds, e.kind); })
      .def_readonly("text", &PyResponseEvent::text)
      .def_readonly("rendered_reasoning", &PyResponseEvent::rendered_reasoning)
      .def_readonly("tool_name", &PyResponseEvent::tool_name)
      .def_readonly("tool_arguments", &PyResponseEvent::tool_arguments)
      .def_property_readonly("usage", [](const PyResponseEvent& e) { return usage_to_py(e.usage); })
      .def_property_readonly("error",
                             [](const PyResponseEvent& e) -> py::object {
                               return e.error ? py::object(error_to_py(*e.error))
                                              : py::object(py::none());
                             })
      .def_property_readonly("finish_reason",
                             [](const PyResponseEvent& e) { return finish_reason_name(e.finish); })
      .def("__repr__", [](const PyResponseEvent& e) {
        return std::string("ResponseEvent(") + enum_name(kResponseKinds, e.kind) + ", " +
               py::repr(py::str(e.text)).cast<std::string>() + ")";
      });

  bind_decoder<ZaiDecoder>(m, "ZaiDecoder",
                           "L1 for chat.z.ai: the chat:completion envelope and document model.")
      .def_property_readonly("document", &ZaiDecoder::document,
                             "The assistant message document as the browser would show it.");
  bind_decoder<OpenAiChunkDecoder>(m, "OpenAiChunkDecoder",
                                   "L1 for OpenAI-compatible upstreams (chat.completion.chunk).");

  py::class_<ThinkLayer>(m, "ThinkLayer", "L2: reasoning adapters and think-mode renderers.")
      .def(py::init([](std::string_view mode, std::string_view source, bool inline_think,
                       std::optional<std::function<double()>> clock) {
             ThinkOptions options;
             options.mode = think_mode_from(mode);
             if (source == "zai")
               options.source = ThinkSource::Zai;
             else if (source == "generic")
               options.source = ThinkSource::Generic;
             else
               throw py::value_error("unknown think source '" + std::string(source) +
                                     "' (expected zai or generic)");
             options.inline_think = inline_think;
             if (clock) options.clock = *clock;
             return ThinkLayer(std::move(options));
           }),
           py::arg("mode") = "reasoning", py::arg("source") = "zai", py::arg("inline_think") = true,
           py::arg("clock") = py::none())
      .def(
          "feed",
          [](ThinkLayer& layer, const PySourceEvent& event) {
            ResponseCollector sink;
            layer.feed(event.view(), sink);
            return std::move(sink.events);
          },
          py::arg("event"))
      .def("finish", [](ThinkLayer& layer) {
        ResponseCollector sink;
        layer.finish(sink);
        return std::move(sink.events);
      });

  py::class_<ToolDetector>(m, "ToolDetector",
                           "L3: emulated function calls in the answer text; native calls mapped.")
      .def(py::init([](const py::object& tools, const py::object& tool_choice,
                       bool parallel_tool_calls, const std::optional<std::string>& trigger) {
             return ToolDetector(
                 tool_options_from(tools, tool_choice, parallel_tool_calls, trigger));
           }),
           py::arg("tools"), py::arg("tool_choice") = py::none(),
           py::arg("parallel_tool_calls") = true, py::arg("trigger") = py::none())
      .def(
          "feed",
          [](ToolDetector& detector, const PyResponseEvent& event) {
            ResponseCollector sink;
            detector.feed(event.view(), sink);
            return std::move(sink.events);
          },
          py::arg("event"))
      .def("finish", [](ToolDetector& detector) {
        ResponseCollector sink;
        detector.finish(sink);
        return std::move(sink.events);
      });

  // The issue-facing names: one class per output family, same methods.
  bind_encoder<OpenAiEncoderBinding>(m, "OpenAiEncoder", "chat.completion.chunk SSE.")
      .def(py::init([](std::string model, std::optional<std::string> id,
                       std::optional<int64_t> created, bool include_usage) {
             return OpenAiEncoderBinding(make_encoder(
                 OutputFormat::OpenAiSse,
                 response_info(std::move(model), std::move(id), created, include_usage, 0, true)));
           }),
           py::arg("model"), py::arg("id") = py::none(), py::arg("created") = py::none(),
           py::arg("include_usage") = false);
  bind_encoder<AnthropicEncoderBinding>(m, "AnthropicEncoder", "Anthropic Messages SSE.")
      .def(py::init([](std::string model, std::optional<std::string> id, int64_t input_tokens) {
             return AnthropicEncoderBinding(
                 make_encoder(OutputFormat::AnthropicSse,
                              response_info(std::move(model), std::move(id), std::nullopt, false,
                                            input_tokens, true)));
           }),
           py::arg("model"), py::arg("id") = py::none(), py::arg("input_tokens") = 0);
  bind_encoder<AggregatorBinding>(m, "Aggregator",
                                  "Non-streaming: one chat.completion or Anthropic message JSON.")
      .def(py::init([](std::string_view format, std::string model, std::optional<std::string> id,
                       std::optional<int64_t> created, int64_t input_tokens, bool reasoning_field) {
             OutputFormat output;
             if (format == "openai")
               output = OutputFormat::OpenAiJson;
             else if (format == "anthropic")
               output = OutputFormat::AnthropicJson;
             else
               throw py::value_error("unknown format '" + std::string(format) +
                                     "' (expected openai or anthropic)");
             return AggregatorBinding(
                 make_encoder(output, response_info(std::move(model), std::move(id), created, false,
                                                    input_tokens, reasoning_field)));
           }),
           py::arg("format"), py::arg("model"), py::arg("id") = py::none(),
           py::arg("created") = py::none(), py::arg("input_tokens") = 0,
           py::arg("reasoning_field") = true);
}

}  // namespace zaiproxy::bindings
