// Image uploads (§1.5): the multipart request and the answer the completion refers to.
#include "zaiproxy/file_upload.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "browser_request.hpp"
#include "zaiproxy/tool_prompt.hpp"

namespace zaiproxy {

namespace {

std::string multipart_body(const ImageUpload& image, std::string_view boundary,
                           std::string_view filename) {
  std::string body;
  body.append("--").append(boundary).append("\r\n");
  body.append("Content-Disposition: form-data; name=\"file\"; filename=\"")
      .append(filename)
      .append("\"\r\n");
  body.append("Content-Type: ").append(image.media_type).append("\r\n\r\n");
  body.append(image.data).append("\r\n");
  body.append("--").append(boundary).append("--\r\n");
  return body;
}

std::string string_field(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

}  // namespace

HttpRequest file_upload_request(const Profile& profile, const Identity& identity,
                                const RequestContext& context, const ImageUpload& image,
                                std::string_view boundary, std::string_view filename) {
  if (identity.guest) {
    throw RequestError("image uploads need a logged-in user token (guest sessions cannot upload)",
                       "messages");
  }
  const std::string content_type = "multipart/form-data; boundary=" + std::string(boundary);
  BrowserRequest request;
  request.method = "POST";
  request.url = profile->url(profile->endpoints.files);
  request.content_type = content_type;
  request.fe_version = context.fe_version;
  request.token = identity.token;
  HttpRequest http = browser_request(*profile, request);
  http.body = multipart_body(image, boundary, filename);
  return http;
}

UploadedFile parse_upload_response(std::string_view body, std::string item_id) {
  const nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  UploadedFile file;
  if (answer.is_object()) {
    file.id = string_field(answer, "id");
    file.filename = string_field(answer, "filename");
    file.user_id = string_field(answer, "user_id");
    const nlohmann::json meta = answer.value("meta", nlohmann::json::object());
    if (meta.is_object()) {
      file.content_type = string_field(meta, "content_type");
      file.cdn_url = string_field(meta, "cdn_url");
      if (meta.contains("size") && meta["size"].is_number_integer()) file.size = meta["size"];
    }
  }
  if (file.id.empty()) {
    throw std::runtime_error("the file upload answered without an id: " +
                             std::string(body.substr(0, 200)));
  }
  file.item_id = std::move(item_id);
  return file;
}

}  // namespace zaiproxy
