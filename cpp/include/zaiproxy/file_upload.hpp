// Image uploads (upstream-protocol.md §1.5): only with a logged-in user's token; the completion
// then refers to the uploaded file by id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zaiproxy/http.hpp"
#include "zaiproxy/identity.hpp"
#include "zaiproxy/profile.hpp"
#include "zaiproxy/request_context.hpp"

namespace zaiproxy {

// A data: image of the client's request.
struct ImageUpload {
  size_t message_index = 0;  // where the image_url part sits in ChatPlan::messages()
  size_t part_index = 0;
  std::string media_type;  // "image/png"
  std::string data;        // the decoded bytes
};

// The upload response's fields that the completion body refers to.
struct UploadedFile {
  std::string id, filename, user_id, content_type, cdn_url;
  int64_t size = 0;
  std::string item_id;  // the files entry's itemId: a fresh UUID per file
};

// multipart/form-data with the single field `file`. Throws RequestError for a guest identity.
HttpRequest file_upload_request(const Profile& profile, const Identity& identity,
                                const RequestContext& context, const ImageUpload& image,
                                std::string_view boundary, std::string_view filename);

// Throws std::runtime_error when the body is not an upload answer (no id).
UploadedFile parse_upload_response(std::string_view body, std::string item_id = random_uuid4());

}  // namespace zaiproxy
