// The signed completion request: URL with its query (§2.1), headers (§2.2), body (§2.3 for a
// fresh chat, §2.4 after chats/new).
#include <stdexcept>

#include "browser_request.hpp"
#include "form_encoding.hpp"
#include "json_writer.hpp"
#include "query_template.hpp"
#include "zaiproxy/request_builder.hpp"
#include "zaiproxy/sign.hpp"

namespace zaiproxy {

namespace {

using Json = nlohmann::ordered_json;

// Persisted chats are answered by the browser's Accept (§2.2).
constexpr std::string_view kAcceptFresh = "application/json";
constexpr std::string_view kAcceptPersisted = "*/*";

// Client text is not trusted to be valid UTF-8: invalid bytes become U+FFFD, never an error.
std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string background_tasks(bool enabled) {
  return enabled ? R"({"title_generation":true,"tags_generation":true})"
                 : R"({"title_generation":false,"tags_generation":false})";
}

std::string string_array(const std::vector<std::string>& items) {
  std::string text = "[";
  for (const std::string& item : items) {
    if (text.size() > 1) text += ',';
    json::append_string(text, item);
  }
  return text += ']';
}

// The small members of a body are mostly empty: no need to run the serializer for "{}".
std::string dump_object(const Json& value) { return value.empty() ? "{}" : dump(value); }

std::string completion_url(const ProfileData& profile, const QueryValues& values) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const QueryField& field : profile.completion_query) {
    fields.emplace_back(field.name, expand_query_template(field.value_template, values));
  }
  return profile.url(profile.endpoints.completions) + "?" + form_encode(fields);
}

}  // namespace

void ChatPlan::check_files(const Identity& identity, const std::vector<UploadedFile>& files) const {
  if (files.size() == uploads_.size()) return;
  if (identity.guest) {
    throw RequestError(
        "images sent as data: URLs must be uploaded, and uploads need a logged-in user token "
        "(guest sessions cannot upload); send an http(s) image URL instead",
        "messages");
  }
  throw std::invalid_argument("the plan has " + std::to_string(uploads_.size()) +
                              " image(s) to upload but " + std::to_string(files.size()) +
                              " uploaded file(s) were given");
}

Json ChatPlan::upstream_messages(const std::vector<UploadedFile>& files) const {
  Json messages = messages_;
  // Uploaded images are referred to by file id (ZZ since 333be6b, KAO).
  for (size_t i = 0; i < uploads_.size(); ++i) {
    messages[uploads_[i].message_index]["content"][uploads_[i].part_index]["image_url"]["url"] =
        files[i].id;
  }
  return messages;
}

Json ChatPlan::file_entries(const std::vector<UploadedFile>& files, const RequestContext& context,
                            bool persisted) const {
  const int64_t seconds = context.timestamp_ms / 1000;
  Json entries = Json::array();
  for (const UploadedFile& file : files) {
    Json entry = {{"type", "image"},
                  {"file",
                   {{"id", file.id},
                    {"user_id", file.user_id},
                    {"hash", nullptr},
                    {"filename", file.filename},
                    {"data", Json::object()},
                    {"meta",
                     {{"name", file.filename},
                      {"content_type", file.content_type},
                      {"size", file.size},
                      {"data", Json::object()}}},
                    {"created_at", seconds},
                    {"updated_at", seconds}}},
                  {"id", file.id},
                  {"url", "/api/v1/files/" + file.id + "/content"},
                  {"name", file.filename},
                  {"status", "uploaded"},
                  {"size", file.size},
                  {"error", ""},
                  {"itemId", file.item_id},
                  {"media", "image"}};
    if (persisted) entry["ref_user_msg_id"] = context.user_message_id;
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string ChatPlan::variables(const Identity& identity, const RequestContext& context) const {
  const VariablesProfile& profile = profile_->variables;
  std::string text;
  json::ObjectWriter writer(text);
  writer.string("{{USER_NAME}}", identity.name.empty() ? profile.user_name : identity.name)
      .string("{{USER_LOCATION}}", profile.user_location)
      .string("{{CURRENT_DATETIME}}", context.local_time.datetime)
      .string("{{CURRENT_DATE}}", context.local_time.date)
      .string("{{CURRENT_TIME}}", context.local_time.time)
      .string("{{CURRENT_WEEKDAY}}", context.local_time.weekday)
      .string("{{CURRENT_TIMEZONE}}", profile.timezone)
      .string("{{USER_LANGUAGE}}", profile.language)
      .close();
  return text;
}

std::string ChatPlan::features(bool persisted) const {
  std::string text;
  json::ObjectWriter writer(text);
  writer.boolean("image_generation", false)
      .boolean("web_search", web_search_)
      .boolean("auto_web_search", web_search_)
      .boolean("preview_mode", model_.preview_mode)
      .raw("flags", "[]");
  // A persisted chat got its feature list from chats/new (§2.4).
  if (!persisted) writer.raw("features", dump(model_.completion_features));
  writer.boolean("enable_thinking", enable_thinking_).close();
  return text;
}

void ChatPlan::write_head(json::ObjectWriter& writer,
                          const std::vector<UploadedFile>& files) const {
  // Only uploads change the conversation: without them it is written as planned, uncopied.
  writer.boolean("stream", true)
      .string("model", model_.upstream_id)
      .raw("messages", dump(uploads_.empty() ? messages_ : upstream_messages(files)))
      .string("signature_prompt", signature_prompt_);
}

std::string ChatPlan::fresh_chat_body(const Identity& identity, const RequestContext& context,
                                      const std::vector<UploadedFile>& files) const {
  std::string body;
  json::ObjectWriter writer(body);
  write_head(writer, files);
  writer.raw("files", files.empty() ? "[]" : dump(file_entries(files, context, false)))
      .raw("params", dump_object(params_))
      .raw("extra", "{}")
      .raw("features", features(false))
      .raw("background_tasks", background_tasks(false))
      .raw("mcp_servers", string_array(model_.mcp_servers))
      .raw("variables", variables(identity, context));
  json::ObjectWriter model_item(writer.key("model_item"));
  model_item.string("id", model_.upstream_id)
      .string("name", model_.name)
      .string("owned_by", profile_->model_item_owned_by)
      .close();
  writer.string("chat_id", context.chat_id)
      .string("id", context.user_message_id)
      .string("session_id", context.session_id)
      .string("current_user_message_id", context.user_message_id)
      .null("current_user_message_parent_id")
      .null("tools")
      .close();
  return body;
}

std::string ChatPlan::persisted_chat_body(const Identity& identity, const RequestContext& context,
                                          const std::string& chat_id,
                                          const std::vector<UploadedFile>& files) const {
  std::string body;
  json::ObjectWriter writer(body);
  write_head(writer, files);
  if (!files.empty()) writer.raw("files", dump(file_entries(files, context, true)));
  writer.raw("params", dump_object(params_)).raw("extra", "{}").raw("features", features(true));
  if (!model_.mcp_servers.empty()) writer.raw("mcp_servers", string_array(model_.mcp_servers));
  writer.raw("variables", variables(identity, context))
      .string("chat_id", chat_id)
      .string("id", context.assistant_message_id)
      .string("current_user_message_id", context.user_message_id)
      .null("current_user_message_parent_id")
      .raw("background_tasks", background_tasks(true))
      .close();
  return body;
}

HttpRequest ChatPlan::completion_request(const Identity& identity, const RequestContext& context,
                                         const CompletionExtras& extras) const {
  check_files(identity, extras.files);
  const bool persisted = extras.chat_id.has_value();
  if (model_.needs_chat_creation && !persisted) {
    throw std::invalid_argument("model " + model_.upstream_id +
                                " needs chats/new first: pass its chat_id");
  }
  const std::string& chat_id = persisted ? *extras.chat_id : context.chat_id;
  std::string body = persisted ? persisted_chat_body(identity, context, chat_id, extras.files)
                               : fresh_chat_body(identity, context, extras.files);

  BrowserRequest request;
  request.method = "POST";
  request.url =
      completion_url(*profile_, {context.request_id, std::to_string(context.timestamp_ms),
                                 identity.user_id, identity.token, chat_id, profile_->origin});
  request.content_type = "application/json";
  request.accept = persisted ? kAcceptPersisted : kAcceptFresh;
  request.referer = profile_->origin + "/c/" + chat_id;
  request.fe_version = context.fe_version;
  request.token = identity.token;
  HttpRequest http = browser_request(*profile_, request);
  // One timestamp for the query, the signing window and the signed trailer (§2.1).
  http.headers.emplace_back("X-Signature",
                            sign(context.request_id, context.timestamp_ms, identity.user_id,
                                 signature_prompt_, profile_->signing_key));
  http.body = std::move(body);
  return http;
}

}  // namespace zaiproxy
