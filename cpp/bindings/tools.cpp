// Tool calling for Python: the request-side conversion (so a notebook sees the exact upstream
// prompt) and the process trigger. JSON crosses the boundary as text: Python's json module on one
// side, nlohmann/json on the other; this runs once per request, never per event.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy::bindings {

namespace {

py::object g_request_error;  // zaiproxy._core.RequestError, set at registration

const char* tool_choice_name(ToolChoice choice) {
  switch (choice) {
    case ToolChoice::Auto:
      return "auto";
    case ToolChoice::None:
      return "none";
    case ToolChoice::Required:
      return "required";
    case ToolChoice::Named:
      return "named";
  }
  return "auto";
}

py::dict tool_options_to_py(const ToolOptions& options) {
  py::list tools;
  for (const ToolSpec& tool : options.tools) {
    py::dict entry;
    entry["name"] = tool.name;
    entry["description"] = tool.description;
    entry["parameters"] = py::module_::import("json").attr("loads")(tool.parameters);
    tools.append(entry);
  }
  py::dict d;
  d["tools"] = tools;
  d["tool_choice"] = tool_choice_name(options.choice);
  d["tool_choice_name"] = options.choice_name;
  d["trigger"] = options.trigger;
  d["parallel_tool_calls"] = options.parallel_tool_calls;
  return d;
}

}  // namespace

Dialect dialect_from(std::string_view name) {
  if (name == "openai") return Dialect::OpenAi;
  if (name == "anthropic") return Dialect::Anthropic;
  throw py::value_error("unknown dialect '" + std::string(name) +
                        "' (expected openai or anthropic)");
}

ToolOptions tool_options_from(const py::object& tools, const py::object& tool_choice,
                              bool parallel_tool_calls, const std::optional<std::string>& trigger) {
  if (tools.is_none()) return ToolOptions{};
  nlohmann::ordered_json request = {{"messages", nlohmann::ordered_json::array()},
                                    {"tools", json_from_py(tools)},
                                    {"parallel_tool_calls", parallel_tool_calls}};
  if (!tool_choice.is_none()) request["tool_choice"] = json_from_py(tool_choice);
  // Either API's shape is accepted, told apart by the tools themselves: OpenAI tools are
  // {"type": "function", "function": {…}}. The same readers as for whole requests check them.
  const nlohmann::ordered_json& first =
      request["tools"].empty() ? nlohmann::ordered_json::object() : request["tools"].front();
  const Dialect dialect =
      first.is_object() && first.contains("function") ? Dialect::OpenAi : Dialect::Anthropic;
  ToolLayerOptions layer;
  layer.trigger = trigger.value_or("");
  return build_upstream_conversation(request, dialect, layer).tools;
}

void register_tools(py::module_& m) {
  g_request_error = py::reinterpret_borrow<py::object>(
      PyErr_NewExceptionWithDoc("zaiproxy._core.RequestError",
                                "A request the client must fix (HTTP 400): .param names the field.",
                                PyExc_ValueError, nullptr));
  m.attr("RequestError") = g_request_error;
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const RequestError& e) {
      py::object error = g_request_error(e.what());
      error.attr("param") = e.param();
      error.attr("status") = e.status();
      PyErr_SetObject(g_request_error.ptr(), error.ptr());
    }
  });

  m.def(
      "build_upstream_messages",
      [](const py::object& request, std::string_view dialect, std::optional<std::string> trigger,
         std::optional<std::string> prompt_template, bool developer_as_system) {
        ToolLayerOptions options;
        options.trigger = trigger.value_or("");
        options.prompt_template = prompt_template.value_or("");
        options.developer_as_system = developer_as_system;
        UpstreamConversation conversation =
            build_upstream_conversation(json_from_py(request), dialect_from(dialect), options);
        py::dict result;
        result["messages"] = json_to_py(conversation.messages.dump());
        result["tool_options"] = tool_options_to_py(conversation.tools);
        return result;
      },
      py::arg("request"), py::arg("dialect") = "openai", py::kw_only(),
      py::arg("trigger") = py::none(), py::arg("prompt_template") = py::none(),
      py::arg("developer_as_system") = true,
      "The upstream message list for an OpenAI or Anthropic request: tool prompt injected, tool "
      "calls and results re-encoded, trigger sanitised. Raises RequestError for a bad request.");

  m.def(
      "validate_prompt_template",
      [](std::string_view prompt_template) { validate_prompt_template(prompt_template); },
      py::arg("prompt_template"));
  m.def("make_trigger", &make_trigger, py::arg("seed") = py::none(), py::arg("length") = 4);
  m.def("process_trigger", &process_trigger,
        "The trigger of this process (one per process keeps upstream prompt caching).");
  m.def("set_process_trigger", &set_process_trigger, py::arg("trigger"));
}

}  // namespace zaiproxy::bindings
