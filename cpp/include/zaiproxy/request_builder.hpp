// The upstream requests of one chat completion (upstream-protocol.md §1.4, §1.5, §2, §3):
// plan_chat() reads the client's request once; the plan then writes the completion request, the
// chats/new request for models that need one, and tells which images must be uploaded first.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "zaiproxy/encoder.hpp"
#include "zaiproxy/file_upload.hpp"
#include "zaiproxy/http.hpp"
#include "zaiproxy/identity.hpp"
#include "zaiproxy/model_catalogue.hpp"
#include "zaiproxy/pipeline.hpp"
#include "zaiproxy/profile.hpp"
#include "zaiproxy/request_context.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy {

namespace json {
class ObjectWriter;  // the completion bodies' writer (src/json_writer.hpp)
}  // namespace json

// What the steps before the completion produced.
struct CompletionExtras {
  std::optional<std::string> chat_id;  // from chats/new: the persisted flow of §2.4
  std::vector<UploadedFile> files;     // one per ChatPlan::uploads(), in that order
};

class ChatPlan {
 public:
  const Profile& profile() const { return profile_; }
  const ResolvedModel& model() const { return model_; }
  // The model name the response echoes: the client's (the default alias when it sent none).
  const std::string& response_model() const { return response_model_; }
  // The text signed and sent as signature_prompt (§3.3).
  const std::string& signature_prompt() const { return signature_prompt_; }
  bool enable_thinking() const { return enable_thinking_; }
  bool web_search() const { return web_search_; }
  const nlohmann::ordered_json& params() const { return params_; }
  // The upstream messages (§2.6), images still as the client sent them.
  const nlohmann::ordered_json& messages() const { return messages_; }
  // data: images, to upload with a user token before the completion (§1.5).
  const std::vector<ImageUpload>& uploads() const { return uploads_; }
  const ToolOptions& tool_options() const { return tool_options_; }

  // The signed completion request (§2.1–§2.4). Throws RequestError when images need uploading and
  // the identity is a guest, std::invalid_argument when `extras` does not match the plan (files
  // missing for the uploads, no chat_id for a model that needs chats/new).
  HttpRequest completion_request(const Identity& identity, const RequestContext& context,
                                 const CompletionExtras& extras = {}) const;
  // POST chats/new (§1.4), for model().needs_chat_creation.
  HttpRequest chat_creation_request(const Identity& identity, const RequestContext& context,
                                    const std::vector<UploadedFile>& files = {}) const;
  // A Pipeline for the response: the echoed model name and the tool layer's ToolOptions.
  PipelineOptions pipeline_options(OutputFormat output) const;

 private:
  friend ChatPlan plan_chat(const Profile&, const nlohmann::ordered_json&, Dialect,
                            const ToolLayerOptions&);
  explicit ChatPlan(Profile profile) : profile_(std::move(profile)) {}

  // The completion bodies are written as text: on the hot path, building the whole document as
  // a tree (the conversation copied into it) cost more than everything else in the request.
  std::string fresh_chat_body(const Identity& identity, const RequestContext& context,
                              const std::vector<UploadedFile>& files) const;
  std::string persisted_chat_body(const Identity& identity, const RequestContext& context,
                                  const std::string& chat_id,
                                  const std::vector<UploadedFile>& files) const;
  // The members both bodies open with: stream, model, messages, signature_prompt.
  void write_head(json::ObjectWriter& writer, const std::vector<UploadedFile>& files) const;
  nlohmann::ordered_json upstream_messages(const std::vector<UploadedFile>& files) const;
  nlohmann::ordered_json file_entries(const std::vector<UploadedFile>& files,
                                      const RequestContext& context, bool persisted) const;
  std::string variables(const Identity& identity, const RequestContext& context) const;
  std::string features(bool persisted) const;
  void check_files(const Identity& identity, const std::vector<UploadedFile>& files) const;

  Profile profile_;
  ResolvedModel model_;
  std::string response_model_;
  std::string signature_prompt_;
  bool enable_thinking_ = false;
  bool web_search_ = false;
  nlohmann::ordered_json params_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  std::vector<ImageUpload> uploads_;
  ToolOptions tool_options_;
};

// Reads an OpenAI chat request or an Anthropic messages request: the tool layer, the model, the
// parameters, the thinking and web-search switches, the images. Throws RequestError (400) for
// what the client must fix.
//
// Switches, first present wins: thinking = `enable_thinking` (bool), Anthropic
// `thinking.type` ("enabled"/"adaptive" on, "disabled" off), OpenAI `reasoning_effort` ("none"
// off, any other effort on), then the model's default; web search = `web_search` (bool), then the
// model's default.
ChatPlan plan_chat(const Profile& profile, const nlohmann::ordered_json& request, Dialect dialect,
                   const ToolLayerOptions& tool_options = {});

// chats/new's answer: the new chat's id (`id`, or `chat.id`). Throws std::runtime_error.
std::string parse_chat_creation_response(std::string_view body);

}  // namespace zaiproxy
