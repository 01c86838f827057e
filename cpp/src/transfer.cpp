#include "transfer.hpp"

#include <strings.h>

#include <stdexcept>

#include "ascii.hpp"
#include "transfer_failure.hpp"

namespace zaiproxy {

namespace {

// An error body is for the message only: a WAF page or a JSON detail fits well within this.
constexpr size_t kMaxErrorBody = 64 * 1024;

void check(CURLcode code, const char* what) {
  if (code != CURLE_OK)
    throw std::runtime_error(std::string("curl_easy_setopt(") + what +
                             "): " + curl_easy_strerror(code));
}

}  // namespace

Transfer::Transfer(std::shared_ptr<Stream::Shared> stream, HttpRequest request,
                   std::optional<PipelineOptions> pipeline, const EngineOptions& options,
                   std::vector<uint64_t>& pending)
    : stream_(std::move(stream)),
      body_(std::move(request.body)),
      shaped_(pipeline.has_value()),
      pipeline_options_(std::move(pipeline)),
      pending_(pending),
      options_(options) {
  easy_ = curl_easy_init();
  if (!easy_) throw std::runtime_error("curl_easy_init failed");
  auto set = [this](CURLoption option, auto value, const char* what) {
    check(curl_easy_setopt(easy_, option, value), what);
  };
  set(CURLOPT_URL, request.url.c_str(), "URL");  // curl keeps a copy
  set(CURLOPT_PRIVATE, static_cast<void*>(this), "PRIVATE");
  set(CURLOPT_NOSIGNAL, 1L, "NOSIGNAL");
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS), "HTTP_VERSION");
  // Over TLS, wait for a connection that may turn out to be HTTP/2 rather than open another. Not
  // for plain http: curl 7.88 would hold requests to an HTTP/1.1 host behind the first one.
  if (request.url.rfind("https://", 0) == 0) set(CURLOPT_PIPEWAIT, 1L, "PIPEWAIT");
  // A proxy's "200 Connection established" is not the upstream's first byte.
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L, "SUPPRESS_CONNECT_HEADERS");
  set(CURLOPT_TCP_KEEPALIVE, 1L, "TCP_KEEPALIVE");
  set(CURLOPT_ACCEPT_ENCODING, "", "ACCEPT_ENCODING");
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()),
      "CONNECTTIMEOUT_MS");
  set(CURLOPT_BUFFERSIZE, options_.receive_buffer_bytes, "BUFFERSIZE");
  set(CURLOPT_ERRORBUFFER, curl_error_, "ERRORBUFFER");
  set(CURLOPT_HEADERFUNCTION, &Transfer::on_header, "HEADERFUNCTION");
  set(CURLOPT_HEADERDATA, static_cast<void*>(this), "HEADERDATA");
  set(CURLOPT_WRITEFUNCTION, &Transfer::on_body, "WRITEFUNCTION");
  set(CURLOPT_WRITEDATA, static_cast<void*>(this), "WRITEDATA");
  if (!options_.proxy.empty()) set(CURLOPT_PROXY, options_.proxy.c_str(), "PROXY");
  if (!options_.no_proxy.empty()) set(CURLOPT_NOPROXY, options_.no_proxy.c_str(), "NOPROXY");
  if (!options_.verify_tls) {
    set(CURLOPT_SSL_VERIFYPEER, 0L, "SSL_VERIFYPEER");
    set(CURLOPT_SSL_VERIFYHOST, 0L, "SSL_VERIFYHOST");
  }
  if (!options_.ca_file.empty()) set(CURLOPT_CAINFO, options_.ca_file.c_str(), "CAINFO");

  if (request.method == "GET") {
    set(CURLOPT_HTTPGET, 1L, "HTTPGET");
  } else {
    if (request.method != "POST") set(CURLOPT_CUSTOMREQUEST, request.method.c_str(), "METHOD");
    if (request.method == "POST" || !body_.empty()) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()), "POSTFIELDSIZE");
      set(CURLOPT_POSTFIELDS, body_.data(), "POSTFIELDS");
    }
  }
  for (const auto& [name, value] : request.headers) {
    header_list_ = curl_slist_append(header_list_, (name + ": " + value).c_str());
  }
  // No `Expect: 100-continue` round trip before a body: chat.z.ai never asks for one.
  header_list_ = curl_slist_append(header_list_, "Expect:");
  set(CURLOPT_HTTPHEADER, header_list_, "HTTPHEADER");
}

Transfer::~Transfer() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(header_list_);
}

void Transfer::started(Clock::time_point now) {
  started_at_ = now;
  last_activity_ = now;
}

void Transfer::resume(Clock::time_point now) {
  if (!paused_) return;
  paused_ = false;
  last_activity_ = now;
  curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver the held-back data right away
}

size_t Transfer::on_header(char* data, size_t size, size_t count, void* self) {
  return static_cast<Transfer*>(self)->header(std::string_view(data, size * count));
}

size_t Transfer::on_body(char* data, size_t size, size_t count, void* self) {
  return static_cast<Transfer*>(self)->body(std::string_view(data, size * count));
}

size_t Transfer::header(std::string_view line) {
  got_first_byte_ = true;
  last_activity_ = Clock::now();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 1xx, the final one)
    response_headers_.clear();
    status_ = 0;
    return line.size();
  }
  const std::string_view content = ascii::trim_space(line);
  if (content.empty()) {
    long code = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
    status_ = static_cast<int>(code);
    if (status_ >= 200) {  // the final response: its headers belong to the reader now
      stream_->set_headers(status_, std::move(response_headers_));
      response_headers_ = {};
    }
    return line.size();
  }
  const size_t colon = content.find(':');
  if (colon != std::string_view::npos) {
    response_headers_.emplace_back(std::string(ascii::trim_space(content.substr(0, colon))),
                                   std::string(ascii::trim_space(content.substr(colon + 1))));
  }
  return line.size();
}

size_t Transfer::body(std::string_view bytes) {
  // Returning less than given makes curl stop with CURLE_WRITE_ERROR; completed() then sees the
  // cancellation.
  if (stream_->cancel_requested.load(std::memory_order_relaxed)) return 0;
  last_activity_ = Clock::now();
  if (shaped_ && !is_success()) {
    error_body_.append(
        bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size())));
    return bytes.size();
  }
  // Curl keeps the bytes of a paused write and hands them over again on resume.
  if ((released_ || !shaped_) && stream_->pause_if_full(output_.size())) {
    paused_ = true;
    stream_->channel->counters.paused.fetch_add(1, std::memory_order_relaxed);
    return CURL_WRITEFUNC_PAUSE;
  }
  stream_->channel->counters.bytes_received.fetch_add(bytes.size(), std::memory_order_relaxed);
  if (shaped_) {
    pipeline().feed(bytes, output_);
    // Until the response shows content, an error in it can still become an HTTP error or a
    // retry: output is released to the reader once it holds content and no error came first.
    if (!released_ && !output_.empty() && !pipeline().error()) released_ = true;
  } else {
    output_.append(bytes);
  }
  if ((released_ || !shaped_) && !output_.empty() && !queued_) {
    queued_ = true;
    pending_.push_back(id());
  }
  return bytes.size();
}

Pipeline& Transfer::pipeline() {
  if (!pipeline_) {
    pipeline_.emplace(std::move(*pipeline_options_));
    pipeline_options_.reset();
  }
  return *pipeline_;
}

void Transfer::deliver() {
  queued_ = false;
  if (output_.empty()) return;
  stream_->channel->counters.bytes_delivered.fetch_add(output_.size(), std::memory_order_relaxed);
  stream_->publish(output_, false);
}

void Transfer::completed(CURLcode result) {
  if (ended_) return;
  if (stream_->cancel_requested.load()) return end_with(transfer_failure::cancelled("cancelled"));
  if (result != CURLE_OK) {
    long proxy_status = 0;
    curl_easy_getinfo(easy_, CURLINFO_HTTP_CONNECTCODE, &proxy_status);
    if (proxy_status >= 300)  // the proxy refused the tunnel
      return end_with(transfer_failure::proxy_refused(static_cast<int>(proxy_status)));
    return end_with(transfer_failure::from_curl(result, curl_error_));
  }
  if (shaped_ && !is_success()) return end_with(transfer_failure::from_http(status_, error_body_));
  if (shaped_) pipeline().finish(output_);
  end_with(std::nullopt);
}

void Transfer::aborted(const TransferFailure& failure) {
  if (!ended_) end_with(failure);
}

void Transfer::abandon() { aborted(transfer_failure::cancelled("the engine stopped")); }

std::optional<TransferFailure> Transfer::overdue(Clock::time_point now) const {
  if (paused_ || ended_) return std::nullopt;
  if (!got_first_byte_) {
    if (now - started_at_ > options_.first_byte_timeout)
      return transfer_failure::timeout("first byte", options_.first_byte_timeout);
  } else if (now - last_activity_ > options_.idle_timeout) {
    return transfer_failure::timeout("idle", options_.idle_timeout);
  }
  return std::nullopt;
}

void Transfer::end_with(std::optional<TransferFailure> failure) {
  ended_ = true;
  const bool cancelled = failure && failure->kind == TransferFailure::Kind::Cancelled;
  if (shaped_ && !cancelled) {
    if (failure && released_) {
      // The reader already has part of the response: the failure ends it in-band.
      StreamError error;
      error.origin = StreamError::Origin::Transport;
      error.code = failure->code;
      error.message = failure->message;
      error.http_status = failure->http_status;
      pipeline().fail(error, output_);
      failure.reset();
    } else if (!failure && !released_ && pipeline().error()) {
      failure = transfer_failure::from_stream(*pipeline().error());
    }
    if (failure) output_.clear();  // held-back output of a response that never started
  }
  if (cancelled) output_.clear();

  EngineCounters& counters = stream_->channel->counters;
  if (cancelled) {
    counters.cancelled.fetch_add(1, std::memory_order_relaxed);
  } else if (failure) {
    counters.failed.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters.completed.fetch_add(1, std::memory_order_relaxed);
  }
  counters.active.fetch_sub(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(stream_->mutex);
    stream_->failure = std::move(failure);
    if (pipeline_) {  // a stream that ended before its first body byte has no outcome to report
      stream_->error = pipeline_->error();
      stream_->usage = pipeline_->usage();
      stream_->finish_reason = pipeline_->finish_reason();
    }
  }
  counters.bytes_delivered.fetch_add(output_.size(), std::memory_order_relaxed);
  stream_->publish(output_, true);
}

}  // namespace zaiproxy
