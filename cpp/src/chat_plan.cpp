// plan_chat: everything read from the client's request, once.
#include "chat_messages.hpp"
#include "chat_settings.hpp"
#include "zaiproxy/request_builder.hpp"

namespace zaiproxy {

ChatPlan plan_chat(const Profile& profile, const nlohmann::ordered_json& request, Dialect dialect,
                   const ToolLayerOptions& tool_options) {
  if (!request.is_object()) throw RequestError("the request must be a JSON object");
  UpstreamConversation conversation = build_upstream_conversation(request, dialect, tool_options);
  const ChatSettings settings = read_chat_settings(request, dialect);
  UpstreamMessages messages = upstream_messages(conversation.messages);

  ChatPlan plan(profile);
  plan.response_model_ = settings.model.value_or(profile->catalogue.default_alias());
  plan.model_ = profile->catalogue.resolve(plan.response_model_);
  plan.signature_prompt_ = last_user_text(request.value("messages", nlohmann::ordered_json()));
  plan.enable_thinking_ = settings.enable_thinking.value_or(plan.model_.enable_thinking);
  plan.web_search_ = settings.web_search.value_or(plan.model_.web_search);
  plan.params_ = settings.params;
  plan.messages_ = std::move(messages.messages);
  plan.uploads_ = std::move(messages.uploads);
  plan.tool_options_ = std::move(conversation.tools);
  return plan;
}

PipelineOptions ChatPlan::pipeline_options(OutputFormat output) const {
  PipelineOptions options;
  options.upstream = Upstream::Zai;
  options.output = output;
  options.tools = tool_options_;
  options.response.model = response_model_;
  return options;
}

}  // namespace zaiproxy
