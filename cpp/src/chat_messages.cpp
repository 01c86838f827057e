#include "chat_messages.hpp"

#include "ascii.hpp"
#include "base64_decode.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kDataPrefix = "data:";
constexpr std::string_view kBase64Marker = ";base64,";

template <typename Parts>
std::string joined_text(const Parts& parts) {
  std::string text;
  bool first = true;
  for (const auto& part : parts) {
    if (!part.is_object() || part.value("type", "") != "text") continue;
    const auto found = part.find("text");
    if (found == part.end() || !found->is_string()) continue;
    if (!first) text += ' ';
    text += found->template get<std::string>();
    first = false;
  }
  return std::string(ascii::trim(text));
}

ImageUpload decode_data_url(const std::string& url) {
  const size_t marker = url.find(kBase64Marker);
  if (marker == std::string::npos) {
    throw RequestError("a data: image must be base64 encoded", "messages");
  }
  std::optional<std::string> bytes = base64_decode(url.substr(marker + kBase64Marker.size()));
  if (!bytes) throw RequestError("a data: image holds invalid base64", "messages");
  ImageUpload upload;
  upload.media_type = url.substr(kDataPrefix.size(), marker - kDataPrefix.size());
  upload.data = std::move(*bytes);
  return upload;
}

// The image part as the upstream gets it; data: images are recorded for upload.
Json image_part(const nlohmann::json& part, size_t message_index, size_t part_index,
                std::vector<ImageUpload>& uploads) {
  const nlohmann::json& image = part.at("image_url");
  const std::string url = image.is_object() && image.contains("url") && image["url"].is_string()
                              ? image["url"].get<std::string>()
                              : "";
  if (url.empty()) throw RequestError("an image_url part needs a url", "messages");
  if (url.compare(0, kDataPrefix.size(), kDataPrefix) == 0) {
    ImageUpload upload = decode_data_url(url);
    upload.message_index = message_index;
    upload.part_index = part_index;
    uploads.push_back(std::move(upload));
  }
  return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
}

}  // namespace

std::string last_user_text(const Json& raw_messages) {
  if (!raw_messages.is_array()) return "";
  for (auto message = raw_messages.rbegin(); message != raw_messages.rend(); ++message) {
    if (!message->is_object() || message->value("role", "") != "user") continue;
    const auto content = message->find("content");
    if (content == message->end()) continue;
    std::string text;
    if (content->is_string()) text = content->get<std::string>();
    if (content->is_array()) text = joined_text(*content);
    if (!text.empty()) return text;
  }
  return "";
}

UpstreamMessages upstream_messages(const nlohmann::json& conversation) {
  UpstreamMessages out;
  for (const nlohmann::json& message : conversation) {
    const nlohmann::json& content = message.at("content");
    if (!content.is_array()) {
      out.messages.push_back({{"role", message.at("role")}, {"content", content}});
      continue;
    }
    const size_t index = out.messages.size();
    Json parts = Json::array();
    const std::string text = joined_text(content);
    if (!text.empty()) parts.push_back({{"type", "text"}, {"text", text}});
    for (const nlohmann::json& part : content) {
      if (part.value("type", "") != "image_url") continue;
      parts.push_back(image_part(part, index, parts.size(), out.uploads));
    }
    if (parts.empty()) continue;
    const bool text_only = parts.size() == 1 && !text.empty();
    out.messages.push_back(
        {{"role", message.at("role")}, {"content", text_only ? Json(text) : std::move(parts)}});
  }
  return out;
}

std::string truncated(const std::string& text, size_t limit) {
  size_t code_points = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool starts_code_point = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts_code_point && code_points++ == limit) return text.substr(0, i) + "...";
  }
  return text;
}

}  // namespace zaiproxy
