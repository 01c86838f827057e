// Turns what went wrong with an upstream request into a TransferFailure with a message an
// operator can act on: which profile setting to update for the failures upstream drift causes.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string_view>

#include "zaiproxy/engine.hpp"

namespace zaiproxy::transfer_failure {

// A non-2xx response; `body` is the start of the upstream's error body.
TransferFailure from_http(int status, std::string_view body);
// curl gave up; `detail` is curl's error buffer (may be empty).
TransferFailure from_curl(CURLcode code, std::string_view detail);
// The proxy answered CONNECT with `status`.
TransferFailure proxy_refused(int status);
// The upstream's stream reported an error before any content.
TransferFailure from_stream(const StreamError& error);
TransferFailure timeout(std::string_view which, std::chrono::milliseconds limit);
TransferFailure cancelled(std::string_view why);

}  // namespace zaiproxy::transfer_failure
