#include "transfer_failure.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace zaiproxy::transfer_failure {

namespace {

using nlohmann::json;

struct ErrorDetail {
  std::string code;
  std::string message;
};

// The first string among the message keys of `object`.
std::string message_in(const json& object) {
  for (const char* key : {"message", "msg", "detail", "error"}) {
    auto it = object.find(key);
    if (it != object.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::string code_in(const json& object) {
  auto it = object.find("code");
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

// chat.z.ai's error bodies put `code` and the message at the top level or one level down, under
// `error`, `detail` or `data` (upstream-protocol §4.8). HTML (the WAF page) yields nothing.
ErrorDetail detail_of(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  ErrorDetail detail;
  if (!parsed.is_object()) return detail;
  detail.code = code_in(parsed);
  detail.message = message_in(parsed);
  for (const char* key : {"error", "detail", "data"}) {
    auto it = parsed.find(key);
    if (it == parsed.end() || !it->is_object()) continue;
    if (detail.code.empty()) detail.code = code_in(*it);
    if (detail.message.empty()) detail.message = message_in(*it);
  }
  return detail;
}

bool mentions_signature(std::string_view text) {
  return text.find("Signature") != std::string_view::npos ||
         text.find("signature") != std::string_view::npos ||
         text.find("签名") != std::string_view::npos;
}

std::string with_detail(std::string text, int status, const std::string& detail) {
  text += " (HTTP " + std::to_string(status);
  if (!detail.empty()) text += ": " + detail;
  return text + ")";
}

}  // namespace

TransferFailure from_http(int status, std::string_view body) {
  const ErrorDetail detail = detail_of(body);
  TransferFailure failure;
  failure.kind = TransferFailure::Kind::Http;
  failure.http_status = status;
  failure.code = detail.code.empty() ? std::to_string(status) : detail.code;
  failure.body = std::string(body);
  if (status == 400 && mentions_signature(detail.message)) {
    failure.message =
        with_detail("chat.z.ai rejected the request signature", status, detail.message) +
        "; update the profile's signing key (ZAIPROXY_SIGNING_KEY) or front-end version "
        "(ZAIPROXY_FE_VERSION)";
  } else if (status == 401) {
    failure.message = with_detail("chat.z.ai refused the token", status, detail.message);
  } else if (status == 405) {
    failure.message =
        with_detail("blocked by chat.z.ai's firewall", status, detail.message) +
        "; update the profile's front-end version (ZAIPROXY_FE_VERSION) and user agent "
        "(ZAIPROXY_USER_AGENT)";
  } else if (status == 426) {
    failure.message =
        with_detail("chat.z.ai says the client version is outdated", status, detail.message) +
        "; update the profile's front-end version (ZAIPROXY_FE_VERSION)";
  } else if (status == 429) {
    failure.message = with_detail("chat.z.ai rate or concurrency limit", status, detail.message);
  } else if (status >= 500) {
    failure.message = with_detail("chat.z.ai server error", status, detail.message);
  } else {
    failure.message = with_detail("chat.z.ai refused the request", status, detail.message);
  }
  return failure;
}

TransferFailure from_curl(CURLcode code, std::string_view detail) {
  TransferFailure failure;
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:  // the SOCKS proxy refused or could not reach the upstream
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      failure.kind = TransferFailure::Kind::Connect;
      failure.http_status = 502;
      break;
    case CURLE_OPERATION_TIMEDOUT:
      failure.kind = TransferFailure::Kind::Timeout;
      failure.http_status = 504;
      break;
    default:
      failure.kind = TransferFailure::Kind::Network;
      failure.http_status = 502;
      break;
  }
  failure.code = "curl:" + std::to_string(static_cast<int>(code));
  failure.message = std::string("upstream connection failed: ") + curl_easy_strerror(code);
  if (!detail.empty()) failure.message.append(" (").append(detail).append(")");
  return failure;
}

TransferFailure proxy_refused(int status) {
  TransferFailure failure;
  failure.kind = TransferFailure::Kind::Connect;
  failure.http_status = 502;
  failure.code = "proxy:" + std::to_string(status);
  failure.message = "the proxy refused the tunnel to the upstream (HTTP " + std::to_string(status) +
                    "); check HTTPS_PROXY / HTTP_PROXY";
  return failure;
}

TransferFailure from_stream(const StreamError& error) {
  TransferFailure failure;
  failure.kind = TransferFailure::Kind::InStream;
  failure.http_status = error.http_status;
  failure.code = error.code;
  failure.message = error.message;
  if (error.code == "426")  // the in-stream form of the outdated-client refusal (§4.8)
    failure.message += "; update the profile's front-end version (ZAIPROXY_FE_VERSION)";
  return failure;
}

TransferFailure timeout(std::string_view which, std::chrono::milliseconds limit) {
  TransferFailure failure;
  failure.kind = TransferFailure::Kind::Timeout;
  failure.http_status = 504;
  failure.code = "timeout";
  failure.message =
      "upstream " + std::string(which) + " timeout after " + std::to_string(limit.count()) + " ms";
  return failure;
}

TransferFailure cancelled(std::string_view why) {
  TransferFailure failure;
  failure.kind = TransferFailure::Kind::Cancelled;
  failure.http_status = 499;
  failure.code = "cancelled";
  failure.message = std::string(why);
  return failure;
}

}  // namespace zaiproxy::transfer_failure

namespace zaiproxy {

const char* transfer_failure_kind_name(TransferFailure::Kind kind) {
  switch (kind) {
    case TransferFailure::Kind::Http:
      return "http";
    case TransferFailure::Kind::InStream:
      return "in_stream";
    case TransferFailure::Kind::Connect:
      return "connect";
    case TransferFailure::Kind::Timeout:
      return "timeout";
    case TransferFailure::Kind::Network:
      return "network";
    case TransferFailure::Kind::Cancelled:
      return "cancelled";
  }
  return "network";
}

}  // namespace zaiproxy
