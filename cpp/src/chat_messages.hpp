// The message side of a chat plan (internal): which text is signed (§3.3) and the upstream
// message list with its images (§2.6, §1.5).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zaiproxy/file_upload.hpp"

namespace zaiproxy {

// ZZ HEAD's rule over the client's raw messages (OpenAI or Anthropic): from the end, the first
// `user` message with non-empty text; string content as is, a list's `text` parts joined by " "
// and stripped. Tool results are not text parts, so they are never signed. "" if none.
std::string last_user_text(const nlohmann::ordered_json& raw_messages);

struct UpstreamMessages {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::vector<ImageUpload> uploads;  // the data: images, decoded
};

// The tool layer's messages in the upstream's shape: list content becomes one text part (the
// text parts joined by " ", stripped) followed by the image parts, or a plain string when there
// are no images; a list with neither is dropped. http(s) images pass through unchanged; data:
// images become uploads. Throws RequestError for a data: URL that is not base64.
UpstreamMessages upstream_messages(const nlohmann::json& conversation);

// The first `limit` code points of UTF-8 `text`, "..." appended when it was longer.
std::string truncated(const std::string& text, size_t limit);

}  // namespace zaiproxy
