#include "zaiproxy/zai_decoder.hpp"

#include <algorithm>

#include "ascii.hpp"
#include "glm_block.hpp"
#include "json_reader.hpp"
#include "upstream_fields.hpp"
#include "utf8.hpp"

namespace zaiproxy {
namespace {

constexpr std::string_view kBlockOpen = "<glm_block";
constexpr std::string_view kBlockClose = "</glm_block>";

Phase parse_phase(std::string_view name) {
  if (name == "thinking") return Phase::Thinking;
  if (name == "answer") return Phase::Answer;
  if (name == "tool_call") return Phase::ToolCall;
  if (name == "done" || name == "finish") return Phase::Done;
  return Phase::Other;  // "other", "tool_response" and phases not known yet
}

StreamError too_large_error(size_t cap) {
  StreamError error;
  error.origin = StreamError::Origin::Protocol;
  error.code = "upstream_response_too_large";
  error.message = "upstream response document exceeds the " + std::to_string(cap) +
                  "-byte limit (max_document_bytes)";
  return error;
}

}  // namespace

void ZaiDecoder::Fields::clear() {
  has_phase = has_delta = has_edit = has_edit_index = has_usage = has_error = done = false;
  has_delta_name = has_delta_arguments = false;
  phase = Phase::None;
  delta_content = edit_content = {};
  delta_utf16 = edit_utf16 = 0;
  delta_high_surrogate = edit_high_surrogate = 0;
  edit_index = 0;
}

ZaiDecoder::ZaiDecoder(ZaiDecoderOptions options) : options_(options) {}

void ZaiDecoder::feed(std::string_view data, SourceSink& sink) {
  if (ended_) return;
  const std::string_view payload = ascii::trim_space(data);
  if (payload.empty()) return;
  if (payload == "[DONE]") return end(sink);
  if (!read_envelope(payload)) return fail(upstream::invalid_event_error(payload), sink);
  switch (envelope_type_) {
    case EnvelopeType::Ignored:
      return;
    case EnvelopeType::Absent:  // the object is the `data` itself
      return apply(levels_[0], false, sink);
    case EnvelopeType::Completion:
      return apply(levels_[1], false, sink);
    case EnvelopeType::Finish:
      return apply(levels_[1], true, sink);
  }
}

void ZaiDecoder::finish(SourceSink& sink) {
  if (!ended_) end(sink);
}

bool ZaiDecoder::read_envelope(std::string_view payload) {
  for (Fields& level : levels_) level.clear();
  envelope_type_ = EnvelopeType::Absent;
  JsonReader reader(payload);
  if (reader.peek() != JsonReader::Type::Object) return false;
  read_fields(reader, 0);
  return reader.at_end();
}

void ZaiDecoder::read_fields(JsonReader& reader, int level) {
  using Type = JsonReader::Type;
  Fields& fields = levels_[level];
  reader.begin_object();
  std::string_view key;
  while (reader.next_key(key)) {
    const Type type = reader.peek();
    if (key == "delta_content" && type == Type::String) {
      fields.delta_high_surrogate = pending_high_surrogate_;
      fields.has_delta = reader.read_string_view(fields.delta_content, fields.delta_buffer,
                                                 &fields.delta_high_surrogate, &fields.delta_utf16);
    } else if (key == "edit_content" && type == Type::String) {
      fields.edit_high_surrogate = 0;  // only a delta continues a pending surrogate
      fields.has_edit = reader.read_string_view(fields.edit_content, fields.edit_buffer,
                                                &fields.edit_high_surrogate, &fields.edit_utf16);
    } else if (key == "edit_index" && type == Type::Number) {
      fields.has_edit_index = reader.read_int(fields.edit_index);
    } else if (key == "phase" && type == Type::String) {
      std::string_view phase;
      fields.has_phase = reader.read_string_view(phase, scratch_);
      fields.phase = parse_phase(phase);
    } else if (key == "usage") {
      fields.has_usage = upstream::read_usage(reader, fields.usage);
    } else if (key == "done" && type == Type::Bool) {
      reader.read_bool(fields.done);
    } else if (key == "error") {
      fields.has_error = upstream::read_error(reader, fields.error);
    } else if (key == "data" && type == Type::Object && level + 1 < kLevels) {
      read_fields(reader, level + 1);
    } else if (key == "type" && type == Type::String && level == 0) {
      std::string_view name;
      reader.read_string_view(name, scratch_);
      envelope_type_ = name == "chat:completion"          ? EnvelopeType::Completion
                       : name == "chat:completion:finish" ? EnvelopeType::Finish
                                                          : EnvelopeType::Ignored;
    } else if (key == "delta_name" && type == Type::String) {
      fields.has_delta_name = reader.read_string_view(fields.delta_name, fields.name_buffer);
    } else if (key == "delta_arguments" && type == Type::String) {
      fields.arguments_high_surrogate = pending_arguments_surrogate_;
      fields.has_delta_arguments = reader.read_string_view(
          fields.delta_arguments, fields.arguments_buffer, &fields.arguments_high_surrogate);
    } else {
      reader.skip_value();
    }
  }
}

// Order within one event: error, the tool call it completes, its tool call fields, content
// (delta, then edit), usage, end.
void ZaiDecoder::apply(const Fields& data, bool finish_type, SourceSink& sink) {
  for (const Fields& level : levels_)
    if (level.has_error) return fail(level.error, sink);
  if (tool_call_open_ && ends_tool_call(data)) complete_tool_call(sink);
  if (data.has_phase) phase_ = data.phase;
  if (phase_ == Phase::ToolCall && !stream_tool_call(data, sink)) return;
  if (data.has_delta) {
    if (!append(data.delta_content, data.delta_utf16, phase_, sink)) return;
    pending_high_surrogate_ = data.delta_high_surrogate;
  }
  if (data.has_edit) {
    if (!flush_pending_surrogate(phase_, sink)) return;
    // An edit without an index is read as an append: the safest guess for unknown shapes.
    const int64_t index = data.has_edit_index ? data.edit_index : INT64_MAX;
    if (!edit(data.edit_content, data.edit_utf16, index, phase_, sink)) return;
    pending_high_surrogate_ = data.edit_high_surrogate;
  }
  if (data.has_usage && !data.usage.empty()) {
    usage_ = data.usage;
    SourceEvent event;
    event.kind = SourceEvent::Kind::Usage;
    event.phase = phase_;
    event.usage = usage_;
    sink.on_event(event);
  }
  if (finish_type || data.done || phase_ == Phase::Done) end(sink);
}

bool ZaiDecoder::ends_tool_call(const Fields& data) const {
  return data.has_delta_name || (data.has_phase && data.phase != Phase::ToolCall);
}

// §4.6 mechanism 2: `delta_name` starts a call, `delta_arguments` extend the open one.
bool ZaiDecoder::stream_tool_call(const Fields& data, SourceSink& sink) {
  if (data.has_delta_name) {
    tool_call_open_ = true;
    tool_call_name_.assign(data.delta_name);
    tool_call_arguments_.clear();
  }
  if (!tool_call_open_ || !data.has_delta_arguments) return true;
  if (!fits(tool_call_arguments_.size(), data.delta_arguments.size(), sink)) return false;
  tool_call_arguments_ += data.delta_arguments;
  pending_arguments_surrogate_ = data.arguments_high_surrogate;
  return true;
}

void ZaiDecoder::complete_tool_call(SourceSink& sink) {
  // A high surrogate that no more arguments can complete becomes U+FFFD (§C.3 rule 2).
  if (pending_arguments_surrogate_ != 0) tool_call_arguments_ += utf8::kReplacement;
  pending_arguments_surrogate_ = 0;
  tool_call_open_ = false;
  emit_tool_block(Phase::ToolCall, {}, tool_call_name_, tool_call_arguments_, sink);
}

bool ZaiDecoder::fits(size_t kept_bytes, size_t added_bytes, SourceSink& sink) {
  if (added_bytes <= options_.max_document_bytes &&
      kept_bytes <= options_.max_document_bytes - added_bytes)
    return true;
  fail(too_large_error(options_.max_document_bytes), sink);
  return false;
}

bool ZaiDecoder::append(std::string_view text, size_t text_utf16, Phase phase, SourceSink& sink) {
  if (!fits(doc_.size(), text.size(), sink)) return false;
  doc_ += text;
  doc_utf16_ += text_utf16;
  report(phase, false, sink);
  return true;
}

// A high surrogate that the next content did not complete becomes U+FFFD (§C.3 rule 2).
bool ZaiDecoder::flush_pending_surrogate(Phase phase, SourceSink& sink) {
  if (pending_high_surrogate_ == 0) return true;
  pending_high_surrogate_ = 0;
  return append(utf8::kReplacement, 1, phase, sink);
}

// doc = doc[0:index] + text (§4.3), with the index in UTF-16 units.
bool ZaiDecoder::edit(std::string_view text, size_t text_utf16, int64_t index, Phase phase,
                      SourceSink& sink) {
  const size_t clamped = static_cast<size_t>(std::max<int64_t>(index, 0));
  const utf8::Position at = utf8::locate_utf16_index(doc_, doc_utf16_, clamped);
  if (!fits(at.bytes, text.size(), sink)) return false;
  // Did the edit leave every reported byte as it was? Then it only extends the document or
  // rewrites held text (an unfinished glm_block), and nothing has to be taken back.
  const bool keeps_reported =
      at.bytes >= reported_ ||
      (text.size() >= reported_ - at.bytes &&
       doc_.compare(at.bytes, reported_ - at.bytes, text.data(), reported_ - at.bytes) == 0);
  doc_.resize(at.bytes);
  doc_ += text;
  doc_utf16_ = at.utf16 + text_utf16;
  const size_t close_length = kBlockClose.size();
  no_close_before_ =
      std::min(no_close_before_, at.bytes >= close_length ? at.bytes - close_length + 1 : 0);
  if (!keeps_reported) {
    // Reported text was rewritten (the thinking close): pass the edit on as a snapshot, up to a
    // glm_block it may open, which is reported as a ToolBlock once complete.
    reported_ = at.bytes;
    const size_t length = text_before_block(reported_, phase, false);
    emit(SourceEvent::Kind::Snapshot, phase, reported_, length, sink);
    reported_ += length;
  }
  report(phase, false, sink);
  return true;
}

// Reports held text that has become stable: text up to a glm_block, and complete blocks. A
// block is complete at its `</glm_block>`, except in phase tool_call, whose edits keep rewriting
// the block (closing tag included) until the phase changes.
void ZaiDecoder::report(Phase phase, bool at_end, SourceSink& sink) {
  const bool block_may_close = at_end || phase != Phase::ToolCall;
  while (reported_ < doc_.size()) {
    if (block_opens_at(reported_)) {
      if (!block_may_close) return;
      const size_t search_from = std::max(no_close_before_, reported_ + kBlockOpen.size());
      const size_t close = doc_.find(kBlockClose, search_from);
      if (close == std::string::npos) {
        const size_t tail = kBlockClose.size() - 1;  // a close tag may still end here
        no_close_before_ = std::max(search_from, doc_.size() > tail ? doc_.size() - tail : 0);
        return;
      }
      const size_t block_end = close + kBlockClose.size();
      emit_block(phase, reported_, block_end - reported_, sink);
      reported_ = block_end;
      continue;
    }
    const size_t length = text_before_block(reported_, phase, at_end);
    if (length == 0) return;
    const auto kind =
        phase == Phase::Thinking ? SourceEvent::Kind::Thinking : SourceEvent::Kind::Answer;
    emit(kind, phase, reported_, length, sink);
    reported_ += length;
  }
}

bool ZaiDecoder::block_opens_at(size_t at) const {
  return doc_[at] == '<' && std::string_view(doc_).substr(at, kBlockOpen.size()) == kBlockOpen;
}

// Length of the text at doc_[from] that can be reported: up to the next `<glm_block`, and, in the
// answer, short of a trailing partial `<glm_block` that the next bytes may complete.
size_t ZaiDecoder::text_before_block(size_t from, Phase phase, bool at_end) const {
  const std::string_view rest = std::string_view(doc_).substr(from);
  const bool hold_partial = !at_end && phase != Phase::Thinking;
  for (size_t lt = rest.find('<'); lt != std::string_view::npos; lt = rest.find('<', lt + 1)) {
    const std::string_view candidate = rest.substr(lt, kBlockOpen.size());
    if (candidate == kBlockOpen) return lt;
    if (candidate.size() == rest.size() - lt && hold_partial &&
        kBlockOpen.compare(0, candidate.size(), candidate) == 0)
      return lt;  // the tag may be completed by the next bytes
  }
  return rest.size();
}

void ZaiDecoder::emit(SourceEvent::Kind kind, Phase phase, size_t from, size_t length,
                      SourceSink& sink) {
  SourceEvent event;
  event.kind = kind;
  event.phase = phase;
  event.text = std::string_view(doc_).substr(from, length);
  sink.on_event(event);
}

void ZaiDecoder::emit_block(Phase phase, size_t from, size_t length, SourceSink& sink) {
  const std::string_view block = std::string_view(doc_).substr(from, length);
  const glm_block::ToolUse use =
      glm_block::read_tool_use(block, block_name_buffer_, block_arguments_buffer_);
  emit_tool_block(phase, block, use.name, use.arguments, sink);
}

void ZaiDecoder::emit_tool_block(Phase phase, std::string_view text, std::string_view name,
                                 std::string_view arguments, SourceSink& sink) {
  SourceEvent event;
  event.kind = SourceEvent::Kind::ToolBlock;
  event.phase = phase;
  event.text = text;
  event.tool_name = name;
  event.tool_arguments = arguments;
  sink.on_event(event);
}

// A normal end: a streamed tool call is complete; held text that is not part of an unfinished
// glm_block is reported, then End.
void ZaiDecoder::end(SourceSink& sink) {
  if (tool_call_open_) complete_tool_call(sink);
  if (!flush_pending_surrogate(phase_, sink)) return;
  report(phase_, true, sink);
  ended_ = true;
  SourceEvent event;
  event.kind = SourceEvent::Kind::End;
  event.phase = Phase::Done;
  event.usage = usage_;
  sink.on_event(event);
}

void ZaiDecoder::fail(const StreamError& error, SourceSink& sink) {
  ended_ = true;
  SourceEvent event;
  event.kind = SourceEvent::Kind::Error;
  event.phase = phase_;
  event.error = &error;
  sink.on_event(event);
}

}  // namespace zaiproxy
