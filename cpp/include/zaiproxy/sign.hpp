// X-Signature for chat.z.ai completion requests (upstream-protocol.md §3.1, epoch E4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zaiproxy {

// The root key of the current signing scheme. Upstream can rotate it: callers take it from the
// protocol profile and pass it in; this is only the default.
inline constexpr std::string_view kDefaultSigningKey = "key-@@@@)))()((9))-xxxx&&&%%%%%";

// Returns the 64 lowercase hex characters of the X-Signature header:
//   message = "requestId,<id>,timestamp,<ts>,user_id,<uid>|<base64(prompt)>|<ts>"
//   key1    = hex(HMAC-SHA256(root_key, dec(ts / 300000)))
//   result  = hex(HMAC-SHA256(key1 as ASCII text, message))
std::string sign(std::string_view request_id, int64_t timestamp_ms, std::string_view user_id,
                 std::string_view prompt, std::string_view root_key = kDefaultSigningKey);

// Standard Base64 with '=' padding (exposed for the signing tests and the mock upstream).
std::string base64_encode(std::string_view bytes);

// Lowercase hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

}  // namespace zaiproxy
