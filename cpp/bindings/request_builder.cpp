// The protocol profile and the request builder for Python: Python picks the token and sends the
// requests; C++ decides what they contain. JSON crosses as text, once per request.
#include "zaiproxy/request_builder.hpp"

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "zaiproxy/fe_version.hpp"
#include "zaiproxy/simple_requests.hpp"

namespace zaiproxy::bindings {

namespace {

py::dict model_to_py(const ResolvedModel& model) {
  py::dict d;
  d["alias"] = model.alias;
  d["upstream_id"] = model.upstream_id;
  d["name"] = model.name;
  d["enable_thinking"] = model.enable_thinking;
  d["web_search"] = model.web_search;
  d["preview_mode"] = model.preview_mode;
  d["mcp_servers"] = model.mcp_servers;
  d["needs_chat_creation"] = model.needs_chat_creation;
  d["guest_allowed"] = model.guest_allowed;
  d["vision"] = model.vision;
  d["known"] = model.known;
  return d;
}

py::dict endpoints_to_py(const Endpoints& e) {
  py::dict d;
  d["landing"] = e.landing;
  d["completions"] = e.completions;
  d["auths"] = e.auths;
  d["models"] = e.models;
  d["chats_new"] = e.chats_new;
  d["chats_delete"] = e.chats_delete;
  d["files"] = e.files;
  return d;
}

py::dict local_time_to_py(const LocalTime& t) {
  py::dict d;
  d["datetime"] = t.datetime;
  d["date"] = t.date;
  d["time"] = t.time;
  d["weekday"] = t.weekday;
  return d;
}

py::dict upload_to_py(const ImageUpload& upload) {
  py::dict d;
  d["media_type"] = upload.media_type;
  d["size"] = upload.data.size();
  d["data"] = to_bytes(upload.data);
  return d;
}

RequestContext make_context(const Profile& profile, std::optional<std::string> fe_version,
                            std::optional<std::string> request_id,
                            std::optional<std::string> chat_id,
                            std::optional<std::string> user_message_id,
                            std::optional<std::string> assistant_message_id,
                            std::optional<std::string> session_id,
                            std::optional<int64_t> timestamp_ms) {
  RequestContext context = RequestContext::fresh(profile, fe_version);
  if (request_id) context.request_id = *request_id;
  if (chat_id) context.chat_id = *chat_id;
  if (user_message_id) context.user_message_id = *user_message_id;
  if (assistant_message_id) context.assistant_message_id = *assistant_message_id;
  if (session_id) context.session_id = *session_id;
  if (timestamp_ms) {
    context.timestamp_ms = *timestamp_ms;
    context.local_time = LocalTime::at(*timestamp_ms, profile->variables.utc_offset_minutes);
  }
  return context;
}

// A context given by the caller, or a fresh one for this call alone.
RequestContext context_or_fresh(const ChatPlan& plan,
                                const std::optional<RequestContext>& context) {
  return context ? *context : RequestContext::fresh(plan.profile());
}

std::string boundary_or_fresh(const std::optional<std::string>& boundary) {
  return boundary ? *boundary : "----zaiproxy" + random_uuid4();
}

void bind_profile(py::module_& m) {
  py::class_<Profile>(m, "Profile", "The protocol profile: everything chat.z.ai can change.")
      .def(py::init([](std::string_view json_text) { return Profile::from_json(json_text); }),
           py::arg("json_text"), "Raises ValueError naming the JSON path of what is wrong.")
      .def_property_readonly("origin", [](const Profile& p) { return p->origin; })
      .def_property_readonly("fe_version_fallback",
                             [](const Profile& p) { return p->fe_version_fallback; })
      .def_property_readonly("signing_key", [](const Profile& p) { return p->signing_key; })
      .def_property_readonly("user_agent", [](const Profile& p) { return p->browser.user_agent; })
      .def_property_readonly("endpoints",
                             [](const Profile& p) { return endpoints_to_py(p->endpoints); })
      .def_property_readonly("default_model",
                             [](const Profile& p) { return p->catalogue.default_alias(); })
      .def(
          "url", [](const Profile& p, std::string_view path) { return p->url(path); },
          py::arg("path"))
      .def(
          "resolve_model",
          [](const Profile& p, std::string_view name) {
            return model_to_py(p->catalogue.resolve(name));
          },
          py::arg("name"), "The model a client name stands for (known=False: the default model).")
      .def(
          "models",
          [](const Profile& p) {
            py::list models;
            for (const ResolvedModel& model : p->catalogue.advertised()) {
              models.append(model_to_py(model));
            }
            return models;
          },
          "Every advertised model name, variants included, for /v1/models.");
}

void bind_identity(py::module_& m) {
  py::class_<Identity>(m, "Identity", "Who a request is sent as.")
      .def(py::init([](std::string token, std::optional<std::string> user_id, std::string name,
                       bool guest) {
             Identity identity = Identity::from_token(std::move(token), guest, std::move(name));
             if (user_id) identity.user_id = std::move(*user_id);
             return identity;
           }),
           py::kw_only(), py::arg("token"), py::arg("user_id") = py::none(), py::arg("name") = "",
           py::arg("guest") = true)
      .def_readwrite("token", &Identity::token)
      .def_readwrite("user_id", &Identity::user_id)
      .def_readwrite("name", &Identity::name)
      .def_readwrite("guest", &Identity::guest)
      .def("__repr__", [](const Identity& i) {
        return "<Identity " + i.user_id + (i.guest ? " guest>" : " user>");
      });
  m.def("jwt_user_id", &jwt_user_id, py::arg("token"),
        "The user id of a JWT (id, user_id, uid, sub; 'guest' when none), unverified.");
}

void bind_context(py::module_& m) {
  py::class_<RequestContext>(m, "RequestContext",
                             "Ids, timestamp and front-end version of one upstream call.")
      .def(py::init(&make_context), py::arg("profile"), py::kw_only(),
           py::arg("fe_version") = py::none(), py::arg("request_id") = py::none(),
           py::arg("chat_id") = py::none(), py::arg("user_message_id") = py::none(),
           py::arg("assistant_message_id") = py::none(), py::arg("session_id") = py::none(),
           py::arg("timestamp_ms") = py::none(),
           "Fresh UUIDs and the current time, except what is given.")
      .def_readonly("request_id", &RequestContext::request_id)
      .def_readonly("chat_id", &RequestContext::chat_id)
      .def_readonly("user_message_id", &RequestContext::user_message_id)
      .def_readonly("assistant_message_id", &RequestContext::assistant_message_id)
      .def_readonly("session_id", &RequestContext::session_id)
      .def_readonly("timestamp_ms", &RequestContext::timestamp_ms)
      .def_readonly("fe_version", &RequestContext::fe_version)
      .def_property_readonly(
          "local_time", [](const RequestContext& c) { return local_time_to_py(c.local_time); });
}

void bind_uploaded_file(py::module_& m) {
  py::class_<UploadedFile>(m, "UploadedFile", "An uploaded image the completion refers to.")
      .def_readonly("id", &UploadedFile::id)
      .def_readonly("filename", &UploadedFile::filename)
      .def_readonly("user_id", &UploadedFile::user_id)
      .def_readonly("content_type", &UploadedFile::content_type)
      .def_readonly("cdn_url", &UploadedFile::cdn_url)
      .def_readonly("size", &UploadedFile::size)
      .def_readonly("item_id", &UploadedFile::item_id);
  m.def(
      "parse_upload_response",
      [](const py::object& body) { return parse_upload_response(ByteView(body).view()); },
      py::arg("body"), "The files/ answer; RuntimeError without an id.");
}

void bind_plan(py::module_& m) {
  py::class_<ChatPlan>(m, "ChatPlan", "One chat request, read once; writes its upstream requests.")
      .def_property_readonly("model", [](const ChatPlan& p) { return p.model().alias; })
      .def_property_readonly("upstream_model",
                             [](const ChatPlan& p) { return p.model().upstream_id; })
      .def_property_readonly("response_model", &ChatPlan::response_model)
      .def_property_readonly("resolved_model",
                             [](const ChatPlan& p) { return model_to_py(p.model()); })
      .def_property_readonly("needs_chat_creation",
                             [](const ChatPlan& p) { return p.model().needs_chat_creation; })
      .def_property_readonly("guest_allowed",
                             [](const ChatPlan& p) { return p.model().guest_allowed; })
      .def_property_readonly("signature_prompt", &ChatPlan::signature_prompt)
      .def_property_readonly("enable_thinking", &ChatPlan::enable_thinking)
      .def_property_readonly("web_search", &ChatPlan::web_search)
      .def_property_readonly("params",
                             [](const ChatPlan& p) { return json_to_py(p.params().dump()); })
      .def_property_readonly("messages",
                             [](const ChatPlan& p) { return json_to_py(p.messages().dump()); })
      .def_property_readonly("uploads",
                             [](const ChatPlan& p) {
                               py::list uploads;
                               for (const ImageUpload& u : p.uploads())
                                 uploads.append(upload_to_py(u));
                               return uploads;
                             })
      .def(
          "completion_request",
          [](const ChatPlan& plan, const Identity& identity,
             const std::optional<RequestContext>& context, std::optional<std::string> chat_id,
             std::optional<std::vector<UploadedFile>> files) {
            CompletionExtras extras;
            extras.chat_id = std::move(chat_id);
            if (files) extras.files = std::move(*files);
            return plan.completion_request(identity, context_or_fresh(plan, context), extras);
          },
          py::arg("identity"), py::arg("context") = py::none(), py::kw_only(),
          py::arg("chat_id") = py::none(), py::arg("files") = py::none(),
          "The signed completion request. Pass chat_id after chats/new, files after uploads.")
      .def(
          "chat_creation_request",
          [](const ChatPlan& plan, const Identity& identity,
             const std::optional<RequestContext>& context,
             std::optional<std::vector<UploadedFile>> files) {
            return plan.chat_creation_request(identity, context_or_fresh(plan, context),
                                              files.value_or(std::vector<UploadedFile>{}));
          },
          py::arg("identity"), py::arg("context") = py::none(), py::kw_only(),
          py::arg("files") = py::none(),
          "POST chats/new; use the same context for the completion that follows.")
      .def(
          "upload_request",
          [](const ChatPlan& plan, const Identity& identity, size_t index,
             const std::optional<RequestContext>& context, std::optional<std::string> boundary,
             std::optional<std::string> filename) {
            if (index >= plan.uploads().size()) throw py::index_error("no such upload");
            return file_upload_request(plan.profile(), identity, context_or_fresh(plan, context),
                                       plan.uploads()[index], boundary_or_fresh(boundary),
                                       filename.value_or(random_uuid4()));
          },
          py::arg("identity"), py::arg("index"), py::arg("context") = py::none(), py::kw_only(),
          py::arg("boundary") = py::none(), py::arg("filename") = py::none(),
          "The multipart upload of uploads[index]; RequestError for a guest.")
      .def(
          "pipeline_options",
          [](const ChatPlan& plan, std::string_view output, std::string_view think,
             bool include_usage, std::optional<std::string> id, std::optional<int64_t> created,
             int64_t input_tokens, std::optional<std::function<double()>> clock) {
            return pipeline_options_from(output, think, plan.response_model(), include_usage, "zai",
                                         std::move(id), created, input_tokens, std::move(clock),
                                         SseFramerOptions{}.max_line_bytes, plan.tool_options());
          },
          py::kw_only(), py::arg("output") = "openai-sse", py::arg("think") = "reasoning",
          py::arg("include_usage") = false, py::arg("id") = py::none(),
          py::arg("created") = py::none(), py::arg("input_tokens") = 0,
          py::arg("clock") = py::none(),
          "PipelineOptions for the response: the echoed model name and the plan's tools.");

  m.def(
      "plan_chat",
      [](const Profile& profile, const py::object& request, std::string_view dialect,
         std::optional<std::string> trigger, std::optional<std::string> prompt_template) {
        ToolLayerOptions options;
        options.trigger = trigger.value_or("");
        options.prompt_template = prompt_template.value_or("");
        return plan_chat(profile, request_json_from_py(request), dialect_from(dialect), options);
      },
      py::arg("profile"), py::arg("request"), py::arg("dialect") = "openai", py::kw_only(),
      py::arg("trigger") = py::none(), py::arg("prompt_template") = py::none(),
      "Reads an OpenAI or Anthropic request (bytes, str or dict). Raises RequestError.");
  m.def(
      "parse_chat_creation_response",
      [](const py::object& body) { return parse_chat_creation_response(ByteView(body).view()); },
      py::arg("body"));
}

void bind_simple_requests(py::module_& m) {
  m.def("landing_page_request", &landing_page_request, py::arg("profile"));
  m.def("auth_request", &auth_request, py::arg("profile"), py::arg("token") = py::none(),
        py::arg("fe_version") = "");
  m.def("models_request", &models_request, py::arg("profile"), py::arg("token"),
        py::arg("fe_version") = "");
  m.def("delete_chats_request", &delete_chats_request, py::arg("profile"), py::arg("token"),
        py::arg("fe_version") = "");
  m.def(
      "parse_auth_response",
      [](const py::object& body) { return parse_auth_response(ByteView(body).view()); },
      py::arg("body"), "The auths answer as an Identity; RuntimeError without a token.");
  m.def(
      "discover_fe_version",
      [](const py::object& html) -> std::optional<std::string> {
        if (py::isinstance<py::str>(html)) return discover_fe_version(html.cast<std::string>());
        return discover_fe_version(ByteView(html).view());
      },
      py::arg("landing_html"), "The newest prod-fe-x.y.z in the page (numerically), or None.");
  m.def("compare_fe_versions", &compare_fe_versions, py::arg("a"), py::arg("b"));
}

}  // namespace

void register_request_builder(py::module_& m) {
  bind_profile(m);
  bind_identity(m);
  bind_context(m);
  bind_uploaded_file(m);
  bind_plan(m);
  bind_simple_requests(m);
}

}  // namespace zaiproxy::bindings
