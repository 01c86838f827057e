// L1 for chat.z.ai: the `chat:completion` envelope and the document model of
// upstream-protocol.md §4.3.
//
// The assistant message is one document `doc`: `delta_content` appends, `edit_content` at
// `edit_index` truncates to the index (JS UTF-16 code units) and appends. The decoder keeps the
// document and reports what changed as SourceEvents:
//   * text appended in phase `thinking`                          → Thinking(text)
//   * text appended in any other phase, outside a glm_block      → Answer(text)
//   * an edit whose result extends the old document (old doc is a prefix of the new one)
//                                                                → the extension, as above
//   * any other edit outside a glm_block (the thinking close)    → Snapshot(edit_content)
//   * a `<glm_block …>…</glm_block>` once complete, after all edits → ToolBlock(block), with
//     tool_name / tool_arguments from its `data.metadata` `name` (else the tag's `tool_call_name`
//     attribute) and `arguments` (empty when its JSON cannot be read)
//   * in phase `tool_call`, a `delta_name` starts a call that later `delta_arguments` extend; it
//     is complete when an event of another phase, the next `delta_name` or the end arrives
//                                              → ToolBlock("", delta_name, delta_arguments joined),
//     before anything else that event brings. Its arguments are bounded by max_document_bytes.
// Text inside an unfinished glm_block is held (it is rewritten by later edits), so the decoder
// only ever emits stable text. An edit index is clamped to [0, len] and moved back to a code point
// boundary: a surrogate pair or a UTF-8 sequence is never split. A `\uD800`-`\uDBFF` escape at the
// end of one content string is kept and joined with a low surrogate that starts the next; every
// other lone surrogate and every invalid UTF-8 byte becomes U+FFFD.
//
// Ends: `data.done == true`, `phase == "done"|"finish"`, `type == "chat:completion:finish"`, a
// `[DONE]` payload, or finish() at EOF. Errors: `error`, `data.error`, `data.data.error` with an
// int or string `code`; a payload that is not JSON is a Protocol error. Usage: the last non-empty
// `usage` object. Envelopes of other types (`status`, `chat:title`, `conn:heartbeat`, …) are
// ignored; an object without `type` is read as the `data` object itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "zaiproxy/decoder.hpp"

namespace zaiproxy {

class JsonReader;

struct ZaiDecoderOptions {
  // Past this size the document is not kept: the response fails with a Protocol error.
  size_t max_document_bytes = 64u << 20;
};

class ZaiDecoder final : public EventDecoder {
 public:
  explicit ZaiDecoder(ZaiDecoderOptions options = {});

  void feed(std::string_view data, SourceSink& sink) override;
  void finish(SourceSink& sink) override;
  bool ended() const override { return ended_; }

  // The document as the browser would show it (for notebooks and tests).
  const std::string& document() const { return doc_; }
  // Its length in UTF-16 code units, the unit of `edit_index`.
  size_t document_utf16_length() const { return doc_utf16_; }

 private:
  // What one object of an event says (the envelope, its `data`, or `data.data`). The contents
  // view the payload, or their buffer when they had to be decoded; the buffers are reused from
  // event to event.
  struct Fields {
    bool has_phase = false, has_delta = false, has_edit = false, has_edit_index = false;
    bool has_usage = false, has_error = false, done = false;
    bool has_delta_name = false, has_delta_arguments = false;
    Phase phase = Phase::None;
    std::string_view delta_content, edit_content, delta_name, delta_arguments;
    size_t delta_utf16 = 0, edit_utf16 = 0;  // their lengths in UTF-16 code units
    std::string delta_buffer, edit_buffer, name_buffer, arguments_buffer;
    char16_t delta_high_surrogate = 0, edit_high_surrogate = 0;  // left unpaired at the end
    char16_t arguments_high_surrogate = 0;
    int64_t edit_index = 0;
    Usage usage;
    StreamError error;
    void clear();
  };
  enum class EnvelopeType : uint8_t { Absent, Completion, Finish, Ignored };

  bool read_envelope(std::string_view payload);
  void read_fields(JsonReader& reader, int level);
  void apply(const Fields& data, bool finish_type, SourceSink& sink);
  bool append(std::string_view text, size_t text_utf16, Phase phase, SourceSink& sink);
  bool flush_pending_surrogate(Phase phase, SourceSink& sink);
  bool edit(std::string_view text, size_t text_utf16, int64_t index, Phase phase, SourceSink& sink);
  bool fits(size_t kept_bytes, size_t added_bytes, SourceSink& sink);
  void report(Phase phase, bool at_end, SourceSink& sink);
  bool block_opens_at(size_t at) const;
  size_t text_before_block(size_t from, Phase phase, bool at_end) const;
  void emit(SourceEvent::Kind kind, Phase phase, size_t from, size_t length, SourceSink& sink);
  void emit_block(Phase phase, size_t from, size_t length, SourceSink& sink);
  void emit_tool_block(Phase phase, std::string_view text, std::string_view name,
                       std::string_view arguments, SourceSink& sink);
  bool ends_tool_call(const Fields& data) const;
  bool stream_tool_call(const Fields& data, SourceSink& sink);
  void complete_tool_call(SourceSink& sink);
  void end(SourceSink& sink);
  void fail(const StreamError& error, SourceSink& sink);

  ZaiDecoderOptions options_;
  std::string doc_;
  size_t doc_utf16_ = 0;
  bool ended_ = false;

  static constexpr int kLevels = 3;  // the envelope, `data`, `data.data`
  Fields levels_[kLevels];
  EnvelopeType envelope_type_ = EnvelopeType::Absent;
  std::string scratch_;  // a `type` or `phase` value that had to be decoded

  Phase phase_ = Phase::None;            // the latest phase; an event without one keeps it
  char16_t pending_high_surrogate_ = 0;  // ended the last content string, not yet in doc_
  size_t reported_ = 0;                  // doc_[0, reported_) has been reported; the rest is held
  size_t no_close_before_ = 0;           // no `</glm_block>` starts in [held block start, this)
  Usage usage_;

  // The `delta_name` call being streamed, reported once complete.
  bool tool_call_open_ = false;
  std::string tool_call_name_, tool_call_arguments_;
  char16_t pending_arguments_surrogate_ = 0;  // ended the last `delta_arguments`, like above
  // A glm_block's metadata strings that had to be decoded (reused from block to block).
  std::string block_name_buffer_, block_arguments_buffer_;
};

}  // namespace zaiproxy
