#include "zaiproxy/pipeline.hpp"

#include <pybind11/stl.h>

#include <string>

#include "bindings.hpp"

namespace zaiproxy::bindings {

namespace {

Upstream upstream_from(std::string_view name) {
  if (name == "zai") return Upstream::Zai;
  if (name == "openai") return Upstream::OpenAi;
  throw py::value_error("unknown upstream '" + std::string(name) + "' (expected zai or openai)");
}

}  // namespace

// The keyword arguments of PipelineOptions(...) and Pipeline(...), in one place.
#define PIPELINE_OPTION_ARGS                                                         \
  py::kw_only(), py::arg("output") = "openai-sse", py::arg("think") = "reasoning",   \
                 py::arg("model") = "GLM-4.5", py::arg("include_usage") = false,     \
                 py::arg("upstream") = "zai", py::arg("id") = py::none(),            \
                 py::arg("created") = py::none(), py::arg("input_tokens") = 0,       \
                 py::arg("clock") = py::none(),                                      \
                 py::arg("max_line_bytes") = SseFramerOptions{}.max_line_bytes,      \
                 py::arg("tools") = py::none(), py::arg("tool_choice") = py::none(), \
                 py::arg("parallel_tool_calls") = true, py::arg("trigger") = py::none()

PipelineOptions pipeline_options_from(std::string_view output, std::string_view think,
                                      std::string model, bool include_usage,
                                      std::string_view upstream, std::optional<std::string> id,
                                      std::optional<int64_t> created, int64_t input_tokens,
                                      std::optional<std::function<double()>> clock,
                                      size_t max_line_bytes, ToolOptions tools) {
  PipelineOptions options;
  options.upstream = upstream_from(upstream);
  options.output = output_format_from(output);
  options.tools = std::move(tools);
  options.think.mode = think_mode_from(think);
  if (clock) options.think.clock = *clock;
  // message.reasoning_content exists only when reasoning has its own channel.
  const bool reasoning_field = options.think.mode == ThinkMode::Reasoning;
  options.response = response_info(std::move(model), std::move(id), created, include_usage,
                                   input_tokens, reasoning_field);
  options.framing.max_line_bytes = max_line_bytes;
  return options;
}

void register_pipeline(py::module_& m) {
  py::class_<PipelineOptions>(m, "PipelineOptions",
                              "Everything that shapes one response; what a Pipeline is built from.")
      .def(py::init([](std::string_view output, std::string_view think, std::string model,
                       bool include_usage, std::string_view upstream, std::optional<std::string> id,
                       std::optional<int64_t> created, int64_t input_tokens,
                       std::optional<std::function<double()>> clock, size_t max_line_bytes,
                       const py::object& tools, const py::object& tool_choice,
                       bool parallel_tool_calls, const std::optional<std::string>& trigger) {
             return pipeline_options_from(
                 output, think, std::move(model), include_usage, upstream, std::move(id), created,
                 input_tokens, std::move(clock), max_line_bytes,
                 tool_options_from(tools, tool_choice, parallel_tool_calls, trigger));
           }),
           PIPELINE_OPTION_ARGS)
      .def_property_readonly("model", [](const PipelineOptions& o) { return o.response.model; })
      .def_property_readonly("id", [](const PipelineOptions& o) { return o.response.id; });

  py::class_<Pipeline>(m, "Pipeline",
                       "One response: upstream SSE bytes in, OpenAI or Anthropic bytes out.")
      .def(py::init([](const PipelineOptions& options) { return Pipeline(options); }),
           py::arg("options"))
      .def(py::init([](std::string_view output, std::string_view think, std::string model,
                       bool include_usage, std::string_view upstream, std::optional<std::string> id,
                       std::optional<int64_t> created, int64_t input_tokens,
                       std::optional<std::function<double()>> clock, size_t max_line_bytes,
                       const py::object& tools, const py::object& tool_choice,
                       bool parallel_tool_calls, const std::optional<std::string>& trigger) {
             return Pipeline(pipeline_options_from(
                 output, think, std::move(model), include_usage, upstream, std::move(id), created,
                 input_tokens, std::move(clock), max_line_bytes,
                 tool_options_from(tools, tool_choice, parallel_tool_calls, trigger)));
           }),
           PIPELINE_OPTION_ARGS)
      .def(
          "feed",
          [](Pipeline& pipeline, const py::object& data) {
            ByteView bytes(data);
            std::string out;
            pipeline.feed(bytes.view(), out);
            return to_bytes(out);
          },
          py::arg("data"), "Feed upstream bytes (any split); returns the output they complete.")
      .def(
          "finish",
          [](Pipeline& pipeline) {
            std::string out;
            pipeline.finish(out);
            return to_bytes(out);
          },
          "End of the upstream response; returns the closing output. Idempotent.")
      .def_property_readonly("id", [](const Pipeline& p) { return p.info().id; })
      .def_property_readonly("created", [](const Pipeline& p) { return p.info().created; })
      .def_property_readonly("model", [](const Pipeline& p) { return p.info().model; })
      .def_property_readonly("error",
                             [](const Pipeline& p) -> py::object {
                               if (!p.error()) return py::none();
                               return error_to_py(*p.error());
                             })
      .def_property_readonly("usage",
                             [](const Pipeline& p) -> py::object {
                               if (p.usage().empty()) return py::none();
                               return usage_to_py(p.usage());
                             })
      .def_property_readonly("finish_reason", [](const Pipeline& p) -> py::object {
        if (!p.finish_reason()) return py::none();
        return py::str(finish_reason_name(*p.finish_reason()));
      });
}

}  // namespace zaiproxy::bindings
