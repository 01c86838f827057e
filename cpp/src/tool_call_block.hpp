// The IN_CALL state of the tool detector (toolcall-and-think.md A3.4 R3): collects the text from
// the trigger on and finds where its `<function_calls>` block ends, reading CDATA sections and the
// JSON string literals of `<args_json>` as opaque, within the preamble and size limits. Internal
// to the core.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zaiproxy::tool {

class CallBlock {
 public:
  struct Limits {
    size_t trigger_size;
    size_t max_preamble_bytes;  // between the trigger and `<function_calls>`
    size_t max_call_bytes;      // the whole block, trigger included
  };
  explicit CallBlock(Limits limits) : limits_(limits) {}

  enum class Status { Incomplete, Complete, Failed };

  // Starts a block with `text`, which begins with the trigger.
  Status start(std::string_view text);
  Status append(std::string_view piece);

  std::string_view text() const { return buffer_; }
  // Complete: the end of `</function_calls>`. Failed: the end of the failed attempt (a limit was
  // hit there); the text after it is answer text again.
  size_t end() const { return end_; }
  // Complete: the text between the trigger and `<function_calls>`, and the block's body.
  std::string_view preamble() const;
  std::string_view body() const;
  // At the end of the stream, the body of a block whose closing tag is missing but which ends with
  // `</function_call>` and whitespace, every `<function_call>` closed (R7 lenient close).
  std::optional<std::string_view> leniently_closed_body() const;

 private:
  Status scan();
  // Scans the body from scan_pos_; true once `</function_calls>` is found.
  bool scan_body();
  Status fail(size_t at) {
    end_ = at;
    return Status::Failed;
  }

  Limits limits_;
  std::string buffer_;
  size_t scan_pos_ = 0;  // everything before it is scanned; what follows may start a tag
  size_t calls_open_ = 0;
  size_t body_begin_ = 0;  // 0 until `<function_calls>` is found
  size_t body_end_ = 0;
  size_t end_ = 0;
  bool in_cdata_ = false;
  bool in_args_json_ = false;
  bool in_string_ = false;      // a JSON string literal of an `<args_json>` outside CDATA
  int open_calls_ = 0;          // `<function_call>` minus `</function_call>` tags
  size_t last_call_close_ = 0;  // the end of the last `</function_call>`; 0 if none yet
};

}  // namespace zaiproxy::tool
