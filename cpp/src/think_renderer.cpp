#include "think_renderer.hpp"

#include <cassert>
#include <cmath>
#include <cstring>
#include <utility>

#include "ascii.hpp"

namespace zaiproxy::think {
namespace {

// B2.2, the pieces written around R when the reasoning is rendered into the content.
constexpr std::string_view kThinkOpen = "<think>\n";
constexpr std::string_view kThinkClose = "\n</think>\n\n";
constexpr std::string_view kQuoteOpen = "> ";
constexpr std::string_view kQuoteLineBreak = "\n> ";
constexpr std::string_view kQuoteClose = "\n\n";
constexpr std::string_view kDetailsOpen = "<details type=\"reasoning\" open><div>\n\n";
constexpr std::string_view kDetailsCloseBeforeSeconds = "\n\n</div><summary>Thought for ";
constexpr std::string_view kDetailsCloseAfterSeconds = " seconds</summary></details>\n\n";
// `raw` mode: the z.ai block is closed the way the upstream's own snapshot closes it.
constexpr std::string_view kRawClose = "</details>\n";

std::string_view opening_piece(ThinkMode mode) {
  switch (mode) {
    case ThinkMode::Think:
      return kThinkOpen;
    case ThinkMode::Quote:
      return kQuoteOpen;
    case ThinkMode::Details:
      return kDetailsOpen;
    default:
      return {};
  }
}

}  // namespace

std::string_view trim_leading_space(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ascii::is_space(text[i])) ++i;
  return text.substr(i);
}

int rounded_seconds(double seconds) {
  if (!(seconds >= 1.0)) return 1;  // also NaN
  if (seconds > 1e9) return 1000000000;
  return static_cast<int>(std::floor(seconds + 0.5));
}

Renderer::Renderer(ThinkMode mode, std::function<double()> clock)
    : mode_(mode), clock_(std::move(clock)) {}

void Renderer::raw_thinking(std::string_view text, ResponseSink& sink) {
  if (mode_ != ThinkMode::Raw) return;
  raw_block_open_ = true;
  raw_last_byte_ = text.back();
  emit_text(text, true, sink);
}

// Quote mode continues the `> ` prefix on every line of R; "\n" → "\n> " needs no state across
// pieces, so each piece is transformed on its own.
void Renderer::append_quoted(std::string_view text) {
  while (!text.empty()) {
    const void* newline = std::memchr(text.data(), '\n', text.size());
    if (newline == nullptr) {
      scratch_.append(text);
      return;
    }
    size_t line_length = static_cast<size_t>(static_cast<const char*>(newline) - text.data());
    scratch_.append(text.data(), line_length);
    scratch_.append(kQuoteLineBreak);
    text.remove_prefix(line_length + 1);
  }
}

void Renderer::reasoning_text(std::string_view text, ResponseSink& sink) {
  switch (mode_) {
    case ThinkMode::Reasoning: {
      assert((static_cast<unsigned char>(text.front()) & 0xC0) != 0x80);
      ResponseEvent event;
      event.kind = ResponseEvent::Kind::Reasoning;
      event.text = text;
      sink.on_event(event);
      return;
    }
    case ThinkMode::Drop:
    case ThinkMode::Raw:  // raw renders the deltas as received, not the cleaned R
      return;
    case ThinkMode::Think:
    case ThinkMode::Quote:
    case ThinkMode::Details:
      break;
  }
  scratch_.clear();
  if (!block_open_) {
    block_open_ = true;
    scratch_.append(opening_piece(mode_));
    if (mode_ == ThinkMode::Details) block_started_at_ = clock_();
  }
  if (mode_ == ThinkMode::Quote) {
    append_quoted(text);
  } else if (scratch_.empty()) {
    emit_text(text, true, sink);  // the common case: no copy
    return;
  } else {
    scratch_.append(text);
  }
  emit_text(scratch_, true, sink);
}

void Renderer::reasoning_end(std::optional<double> upstream_seconds, ResponseSink& sink) {
  if (mode_ == ThinkMode::Raw) {
    if (!raw_block_open_) return;
    raw_block_open_ = false;
    scratch_.clear();
    if (raw_last_byte_ != '\n') scratch_.push_back('\n');
    scratch_.append(kRawClose);
    emit_text(scratch_, true, sink);
    return;
  }
  if (!block_open_) return;
  block_open_ = false;
  switch (mode_) {
    case ThinkMode::Think:
      emit_text(kThinkClose, true, sink);
      return;
    case ThinkMode::Quote:
      emit_text(kQuoteClose, true, sink);
      return;
    case ThinkMode::Details: {
      double seconds = upstream_seconds ? *upstream_seconds : clock_() - block_started_at_;
      scratch_.assign(kDetailsCloseBeforeSeconds);
      scratch_.append(std::to_string(rounded_seconds(seconds)));
      scratch_.append(kDetailsCloseAfterSeconds);
      emit_text(scratch_, true, sink);
      return;
    }
    default:
      return;
  }
}

}  // namespace zaiproxy::think
