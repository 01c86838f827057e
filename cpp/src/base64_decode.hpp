// Base64 decoding (internal): standard alphabet for data: URLs, URL-safe for JWT segments.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zaiproxy {

// Padding is optional in both alphabets; nullopt for any other character or a dangling bit.
std::optional<std::string> base64_decode(std::string_view text);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace zaiproxy
