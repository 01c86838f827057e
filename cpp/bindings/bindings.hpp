#pragma once

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/pipeline.hpp"
#include "zaiproxy/think_layer.hpp"
#include "zaiproxy/tools.hpp"

namespace zaiproxy::bindings {

namespace py = pybind11;

void register_signing(py::module_& m);
void register_stages(py::module_& m);
void register_pipeline(py::module_& m);
void register_tools(py::module_& m);
void register_http(py::module_& m);
void register_engine(py::module_& m);
void register_request_builder(py::module_& m);

// A read-only view of any bytes-like object (bytes, bytearray, memoryview); `str` is refused so
// that text never gets encoded implicitly.
class ByteView {
 public:
  explicit ByteView(const py::object& data);
  std::string_view view() const { return view_; }

 private:
  py::buffer_info info_;
  std::string_view view_;
};

py::bytes to_bytes(std::string_view data);

// JSON crosses as text: Python's json module on one side, nlohmann/json on the other. Ordered, so
// that tool schemas and call arguments keep the client's key order upstream.
nlohmann::ordered_json json_from_py(const py::handle& value);
// A request as bytes, str (JSON text, parsed as is) or a JSON-able object; ValueError if not JSON.
nlohmann::ordered_json request_json_from_py(const py::object& request);
py::object json_to_py(const std::string& json_text);
py::dict usage_to_py(const Usage& usage);
// {"code": int|str, "message": str, "origin": "upstream"|"protocol", "http_status": int}
py::dict error_to_py(const StreamError& error);

// Option parsing shared by the stage classes and the Pipeline; unknown names raise ValueError.
ThinkMode think_mode_from(std::string_view name);
OutputFormat output_format_from(std::string_view name);
Dialect dialect_from(std::string_view name);
// ToolOptions from an OpenAI- or Anthropic-shaped `tools` list and `tool_choice` (None: no tools).
ToolOptions tool_options_from(const py::object& tools, const py::object& tool_choice,
                              bool parallel_tool_calls, const std::optional<std::string>& trigger);
ResponseInfo response_info(std::string model, std::optional<std::string> id,
                           std::optional<int64_t> created, bool include_usage, int64_t input_tokens,
                           bool reasoning_field);
// The options behind PipelineOptions(...)/Pipeline(...): also used by request plans and the engine.
PipelineOptions pipeline_options_from(std::string_view output, std::string_view think,
                                      std::string model, bool include_usage,
                                      std::string_view upstream, std::optional<std::string> id,
                                      std::optional<int64_t> created, int64_t input_tokens,
                                      std::optional<std::function<double()>> clock,
                                      size_t max_line_bytes, ToolOptions tools);

}  // namespace zaiproxy::bindings
