// POST chats/new (§1.4): the persisted chat that glm-4.7 and glm-4.6v answer in.
#include <stdexcept>

#include "browser_request.hpp"
#include "chat_messages.hpp"
#include "zaiproxy/request_builder.hpp"

namespace zaiproxy {

namespace {
using Json = nlohmann::ordered_json;
}

HttpRequest ChatPlan::chat_creation_request(const Identity& identity, const RequestContext& context,
                                            const std::vector<UploadedFile>& files) const {
  check_files(identity, files);
  const ChatCreationProfile& creation = profile_->chat_creation;
  const Json models = Json::array({model_.upstream_id});
  Json message = {{"id", context.user_message_id},
                  {"parentId", nullptr},
                  {"childrenIds", Json::array()},
                  {"role", "user"},
                  {"content", truncated(signature_prompt_, creation.content_limit)},
                  {"timestamp", context.timestamp_ms / 1000},
                  {"models", models}};
  if (!files.empty()) message["files"] = file_entries(files, context, true);
  const Json chat = {{"id", ""},
                     {"title", creation.title},
                     {"models", models},
                     {"params", Json::object()},
                     {"history",
                      {{"messages", {{context.user_message_id, std::move(message)}}},
                       {"currentId", context.user_message_id}}},
                     {"tags", Json::array()},
                     {"flags", Json::array()},
                     {"features", model_.chat_features},
                     {"mcp_servers", model_.mcp_servers},
                     {"enable_thinking", enable_thinking_},
                     {"auto_web_search", web_search_},
                     {"message_version", 1},
                     {"extra", Json::object()},
                     {"timestamp", context.timestamp_ms}};

  BrowserRequest request;
  request.method = "POST";
  request.url = profile_->url(profile_->endpoints.chats_new);
  request.content_type = "application/json";
  request.fe_version = context.fe_version;
  request.token = identity.token;
  HttpRequest http = browser_request(*profile_, request);
  http.body = Json{{"chat", chat}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return http;
}

std::string parse_chat_creation_response(std::string_view body) {
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  if (answer.is_object()) {
    for (const nlohmann::json* holder :
         {&answer, answer.contains("chat") ? &answer["chat"] : nullptr}) {
      if (holder && holder->is_object() && holder->contains("id") && (*holder)["id"].is_string() &&
          !(*holder)["id"].get_ref<const std::string&>().empty()) {
        return (*holder)["id"].get<std::string>();
      }
    }
  }
  throw std::runtime_error("chats/new answered without a chat id: " +
                           std::string(body.substr(0, 200)));
}

}  // namespace zaiproxy
