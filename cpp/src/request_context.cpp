#include "zaiproxy/request_context.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace zaiproxy {

namespace {

constexpr const char* kWeekdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                     "Thursday", "Friday", "Saturday"};

std::string formatted(const char* format, int a, int b, int c) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, format, a, b, c);
  return buffer;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LocalTime LocalTime::at(int64_t timestamp_ms, int utc_offset_minutes) {
  // The profile's zone as a fixed offset: no tz database, and the server's own zone is irrelevant.
  const std::time_t seconds =
      static_cast<std::time_t>(timestamp_ms / 1000 + int64_t{utc_offset_minutes} * 60);
  std::tm t{};
  gmtime_r(&seconds, &t);
  LocalTime local;
  local.date = formatted("%04d-%02d-%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
  local.time = formatted("%02d:%02d:%02d", t.tm_hour, t.tm_min, t.tm_sec);
  local.datetime = local.date + " " + local.time;
  local.weekday = kWeekdays[t.tm_wday];
  return local;
}

std::string random_uuid4() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  uint64_t high = generator(), low = generator();
  high = (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  // Written nibble by nibble: five per request, snprintf was most of a request context's cost.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(36, '-');
  size_t at = 0;
  for (int shift = 60; shift >= 0; shift -= 4) {
    if (at == 8 || at == 13) ++at;
    text[at++] = kDigits[(high >> shift) & 0xF];
  }
  for (int shift = 60; shift >= 0; shift -= 4) {
    if (at == 18 || at == 23) ++at;
    text[at++] = kDigits[(low >> shift) & 0xF];
  }
  return text;
}

RequestContext RequestContext::fresh(const Profile& profile,
                                     const std::optional<std::string>& fe_version) {
  RequestContext context;
  context.request_id = random_uuid4();
  context.chat_id = random_uuid4();
  context.user_message_id = random_uuid4();
  context.assistant_message_id = random_uuid4();
  context.session_id = random_uuid4();
  context.timestamp_ms = now_ms();
  context.fe_version = fe_version.value_or(profile->fe_version_fallback);
  context.local_time = LocalTime::at(context.timestamp_ms, profile->variables.utc_offset_minutes);
  return context;
}

}  // namespace zaiproxy
