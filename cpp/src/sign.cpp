#include "zaiproxy/sign.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <memory>
#include <stdexcept>

namespace zaiproxy {

namespace {

constexpr int64_t kWindowMs = 5 * 60 * 1000;  // the derived key changes every five minutes

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(size * 2, '\0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return hex;
}

}  // namespace

// HMAC (RFC 2104) over a SHA-256 fetched once. OpenSSL 3's one-shot HMAC() looks the MAC and
// the digest up by name on every call, which was most of the cost of signing a request.
std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  constexpr size_t kBlock = 64;
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (sha256 == nullptr) throw std::runtime_error("SHA-256 is not available");
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(EVP_MD_CTX_new());

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  const auto hash = [&](std::initializer_list<std::string_view> parts) {
    bool ok = context && EVP_DigestInit_ex2(context.get(), sha256, nullptr) == 1;
    for (std::string_view part : parts) {
      ok = ok && EVP_DigestUpdate(context.get(), part.data(), part.size()) == 1;
    }
    if (!ok || EVP_DigestFinal_ex(context.get(), digest.data(), &digest_size) != 1) {
      throw std::runtime_error("HMAC-SHA256 failed");
    }
    return std::string_view(reinterpret_cast<const char*>(digest.data()), digest_size);
  };

  std::array<char, kBlock> block{};  // the key, hashed first if longer than a block
  const std::string_view short_key = key.size() > kBlock ? hash({key}) : key;
  std::copy(short_key.begin(), short_key.end(), block.begin());
  std::array<char, kBlock> inner_pad{}, outer_pad{};
  for (size_t i = 0; i < kBlock; ++i) {
    inner_pad[i] = static_cast<char>(block[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(block[i] ^ 0x5c);
  }
  const std::string inner(hash({{inner_pad.data(), kBlock}, message}));
  hash({{outer_pad.data(), kBlock}, inner});
  return to_hex(digest.data(), digest_size);
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = byte(i) << 16;
    if (rest == 2) n |= byte(i + 1) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string sign(std::string_view request_id, int64_t timestamp_ms, std::string_view user_id,
                 std::string_view prompt, std::string_view root_key) {
  const std::string ts = std::to_string(timestamp_ms);
  // Floor division: a timestamp before 1970 still lands in the window that contains it.
  int64_t window = timestamp_ms / kWindowMs;
  if (timestamp_ms < 0 && timestamp_ms % kWindowMs != 0) --window;

  std::string message;
  message.reserve(64 + request_id.size() + user_id.size() + prompt.size() * 4 / 3);
  // The three pairs sorted by key: requestId < timestamp < user_id.
  message.append("requestId,").append(request_id);
  message.append(",timestamp,").append(ts);
  message.append(",user_id,").append(user_id);
  message.append("|").append(base64_encode(prompt));
  message.append("|").append(ts);

  // The second key is the first digest's hex *text* (64 ASCII bytes), not its raw bytes.
  const std::string derived_key = hmac_sha256_hex(root_key, std::to_string(window));
  return hmac_sha256_hex(derived_key, message);
}

}  // namespace zaiproxy
