// One upstream request on the engine thread: its curl easy handle, its Pipeline, and the rule for
// when output may reach the reader. Everything here runs on the engine thread only.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine_channel.hpp"
#include "zaiproxy/engine.hpp"
#include "zaiproxy/http.hpp"
#include "zaiproxy/pipeline.hpp"

namespace zaiproxy {

class Transfer {
 public:
  using Clock = std::chrono::steady_clock;

  // `pending` collects the ids of transfers with output to deliver: the engine delivers once per
  // socket read, not once per HTTP chunk (each SSE event usually comes in a chunk of its own).
  Transfer(std::shared_ptr<Stream::Shared> stream, HttpRequest request,
           std::optional<PipelineOptions> pipeline, const EngineOptions& options,
           std::vector<uint64_t>& pending);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  uint64_t id() const { return stream_->id; }
  CURL* easy() const { return easy_; }

  // Called once curl is about to run the request.
  void started(Clock::time_point now);
  // The reader took output: continue a paused transfer.
  void resume(Clock::time_point now);
  // curl finished the request with `result`.
  void completed(CURLcode result);
  // The engine ends the request itself (timeout, cancellation, engine stopping).
  void aborted(const TransferFailure& failure);
  // Ends a transfer that never started (the engine stopped first).
  void abandon();
  // The timeout this transfer ran into by `now`, if any.
  std::optional<TransferFailure> overdue(Clock::time_point now) const;
  // Passes the output of the last socket read to the reader.
  void deliver();

 private:
  static size_t on_header(char* data, size_t size, size_t count, void* self);
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  size_t header(std::string_view line);
  size_t body(std::string_view bytes);

  bool is_success() const { return status_ >= 200 && status_ < 300; }
  // The Pipeline is built with the first body byte: an idle stream does not pay for it.
  Pipeline& pipeline();
  void end_with(std::optional<TransferFailure> failure);

  std::shared_ptr<Stream::Shared> stream_;
  std::string body_;   // what curl sends (it does not copy POSTFIELDS)
  const bool shaped_;  // the body runs through a Pipeline
  std::optional<PipelineOptions> pipeline_options_;
  std::optional<Pipeline> pipeline_;
  std::vector<uint64_t>& pending_;
  const EngineOptions& options_;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  char curl_error_[CURL_ERROR_SIZE] = {};

  int status_ = 0;
  std::vector<std::pair<std::string, std::string>> response_headers_;
  std::string error_body_;  // a non-2xx response's body, capped
  std::string output_;      // pipeline output not yet delivered
  bool released_ = false;   // output has reached the reader
  bool paused_ = false;
  bool queued_ = false;  // in pending_
  bool ended_ = false;
  Clock::time_point started_at_;
  Clock::time_point last_activity_;
  bool got_first_byte_ = false;
};

}  // namespace zaiproxy
