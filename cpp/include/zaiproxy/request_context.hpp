// The per-request values of an upstream call: ids, the one timestamp, the front-end version and
// the local time for `variables`. fresh() makes new ones; tests set every field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "zaiproxy/profile.hpp"

namespace zaiproxy {

// The CURRENT_* variables of the completion body (§2.3).
struct LocalTime {
  std::string datetime;  // "2026-03-12 15:20:00"
  std::string date;      // "2026-03-12"
  std::string time;      // "15:20:00"
  std::string weekday;   // "Thursday"

  static LocalTime at(int64_t timestamp_ms, int utc_offset_minutes);
};

struct RequestContext {
  std::string request_id;            // query requestId (signed)
  std::string chat_id;               // body chat_id unless chats/new gave one
  std::string user_message_id;       // current_user_message_id (and chats/new's message id)
  std::string assistant_message_id;  // body `id` in the persisted flow (§2.4)
  std::string session_id;
  // timestamp, signature_timestamp and the signing window: one value (§2.1).
  int64_t timestamp_ms = 0;
  std::string fe_version;  // X-FE-Version
  LocalTime local_time;

  // New UUIDv4s, the current time, and `fe_version` (discovered) or the profile's fallback.
  static RequestContext fresh(const Profile& profile,
                              const std::optional<std::string>& fe_version = std::nullopt);
};

// A random version-4 UUID, lower-case.
std::string random_uuid4();

}  // namespace zaiproxy
