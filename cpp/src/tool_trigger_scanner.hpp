// The TEXT state of the tool detector (toolcall-and-think.md A3.4 R1/R2): finds the trigger in
// answer text that arrives in pieces, outside `<think>` blocks, and holds back as little as it can.
// Internal to the core.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "ascii.hpp"
#include "function_calls_parser.hpp"

namespace zaiproxy::tool {

class TriggerScanner {
 public:
  explicit TriggerScanner(std::string trigger) : trigger_(std::move(trigger)) {}

  struct Result {
    std::string_view text;        // answer text to emit now
    std::string_view dropped_ws;  // the whitespace run right before the trigger (R1.1)
    std::string_view call;        // the trigger and everything after it; empty: no trigger
  };

  // Scans the held text followed by `piece`. Held after the call: the longest tail that is
  // ASCII whitespace (at most 256 bytes of it) plus a proper prefix of the trigger (outside think
  // blocks), or a proper prefix of `<think>` / `</think>`. Nothing is held once the trigger is
  // found. The views stay valid until the next call.
  Result scan(std::string_view piece);

  // True when `piece` would come out of scan() unchanged and leave nothing held: nothing is held,
  // it has no '<' and does not end in whitespace. Most answer pieces are like that; the caller
  // then forwards them without building anything.
  bool passes_through(std::string_view piece) const {
    if (!held_.empty() || piece.empty() || ascii::is_space(piece.back())) return false;
    // A token is a few bytes: a plain loop beats a call into memchr there.
    if (piece.size() > 32) return std::memchr(piece.data(), '<', piece.size()) == nullptr;
    for (char c : piece) {
      if (c == '<') return false;
    }
    return true;
  }

  // Text held back for the next piece; the caller emits it when the answer ends or is interrupted.
  std::string_view held() const { return held_; }
  void clear_held() { held_.clear(); }

 private:
  // Where the held tail of `text` starts, given that its last tag-like `<` is at `tag_start` (npos
  // if none could still grow into a tag).
  size_t hold_start(std::string_view text, size_t tag_start) const;

  std::string trigger_;
  std::string held_;
  std::string joined_;  // held_ + piece, when something was held
  int think_depth_ = 0;
};

}  // namespace zaiproxy::tool
