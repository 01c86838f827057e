#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy::bindings {

ByteView::ByteView(const py::object& data) {
  if (py::isinstance<py::str>(data))
    throw py::type_error("expected a bytes-like object (bytes, bytearray, memoryview), not str");
  info_ = py::reinterpret_borrow<py::buffer>(data).request();
  if (info_.ndim > 1 && !(info_.strides.empty() || info_.strides.back() == info_.itemsize))
    throw py::value_error("the buffer must be contiguous");
  view_ = std::string_view(static_cast<const char*>(info_.ptr),
                           static_cast<size_t>(info_.size * info_.itemsize));
}

py::bytes to_bytes(std::string_view data) { return py::bytes(data.data(), data.size()); }

nlohmann::ordered_json json_from_py(const py::handle& value) {
  const auto text = py::module_::import("json").attr("dumps")(value).cast<std::string>();
  return nlohmann::ordered_json::parse(text);
}

nlohmann::ordered_json request_json_from_py(const py::object& request) {
  std::string text;
  if (py::isinstance<py::str>(request)) {
    text = request.cast<std::string>();
  } else if (PyObject_CheckBuffer(request.ptr())) {
    text = std::string(ByteView(request).view());
  } else {
    text = py::module_::import("json").attr("dumps")(request).cast<std::string>();
  }
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  // Python's JSON accepts what JSON's Unicode rules refuse (a lone surrogate, "\ud800"): the
  // client's request is at fault either way.
  if (parsed.is_discarded()) {
    throw RequestError("the request is not valid JSON (or holds text that is not valid Unicode)");
  }
  return parsed;
}

py::object json_to_py(const std::string& json_text) {
  return py::module_::import("json").attr("loads")(json_text);
}

py::dict usage_to_py(const Usage& usage) {
  py::dict d;
  d["prompt_tokens"] = usage.prompt_tokens;
  d["completion_tokens"] = usage.completion_tokens;
  d["total_tokens"] = usage.total_tokens;
  return d;
}

py::dict error_to_py(const StreamError& error) {
  py::dict d;
  if (error.code_is_number)
    d["code"] = py::int_(py::str(error.code));
  else
    d["code"] = error.code;
  d["message"] = error.message;
  d["origin"] = stream_error_origin_name(error.origin);
  d["http_status"] = error.http_status;
  return d;
}

ThinkMode think_mode_from(std::string_view name) {
  if (auto mode = parse_think_mode(name)) return *mode;
  throw py::value_error("unknown think mode '" + std::string(name) +
                        "' (expected reasoning, think, quote, strip, details, drop or raw)");
}

OutputFormat output_format_from(std::string_view name) {
  if (auto format = parse_output_format(name)) return *format;
  throw py::value_error("unknown output '" + std::string(name) +
                        "' (expected openai-sse, openai-json, anthropic-sse or anthropic-json)");
}

ResponseInfo response_info(std::string model, std::optional<std::string> id,
                           std::optional<int64_t> created, bool include_usage, int64_t input_tokens,
                           bool reasoning_field) {
  ResponseInfo info;
  info.model = std::move(model);
  info.id = id.value_or("");
  info.created = created.value_or(0);
  info.include_usage = include_usage;
  info.input_tokens = input_tokens;
  info.reasoning_field = reasoning_field;
  return info;
}

}  // namespace zaiproxy::bindings
