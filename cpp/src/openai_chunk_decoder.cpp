#include "zaiproxy/openai_chunk_decoder.hpp"

#include "ascii.hpp"
#include "json_reader.hpp"
#include "upstream_fields.hpp"
#include "utf8.hpp"

namespace zaiproxy {

void OpenAiChunkDecoder::feed(std::string_view data, SourceSink& sink) {
  if (ended_) return;
  const std::string_view payload = ascii::trim_space(data);
  if (payload.empty()) return;
  if (payload == "[DONE]") return end(sink);
  if (!read_chunk(payload)) return fail(upstream::invalid_event_error(payload), sink);
  if (has_error_) return fail(error_, sink);
  if (reasoning_.present) emit_text(SourceEvent::Kind::Reasoning, reasoning_.text, sink);
  if (content_.present) emit_text(SourceEvent::Kind::Answer, content_.text, sink);
  if (has_usage_) {
    SourceEvent event;
    event.kind = SourceEvent::Kind::Usage;
    event.usage = usage_;
    sink.on_event(event);
  }
}

void OpenAiChunkDecoder::finish(SourceSink& sink) {
  if (!ended_) end(sink);
}

bool OpenAiChunkDecoder::read_chunk(std::string_view payload) {
  content_.present = reasoning_.present = has_usage_ = has_error_ = false;
  JsonReader reader(payload);
  if (!reader.begin_object()) return false;
  std::string_view key;
  while (reader.next_key(key)) {
    if (key == "choices" && reader.peek() == JsonReader::Type::Array) {
      reader.begin_array();
      // Only the first choice is streamed; the proxy never asks for more (n = 1).
      for (bool first = true; reader.next_element(); first = false) {
        if (first && reader.peek() == JsonReader::Type::Object) {
          read_choice(reader);
        } else {
          reader.skip_value();
        }
      }
    } else if (key == "usage") {
      // Only non-empty counts are kept: some upstreams send zeros before the real ones.
      Usage usage;
      if (upstream::read_usage(reader, usage) && !usage.empty()) {
        has_usage_ = true;
        usage_ = usage;
      }
    } else if (key == "error") {
      has_error_ = upstream::read_error(reader, error_);
    } else {
      reader.skip_value();
    }
  }
  return reader.at_end();
}

void OpenAiChunkDecoder::read_choice(JsonReader& reader) {
  reader.begin_object();
  std::string_view key;
  while (reader.next_key(key)) {
    if (key == "delta" && reader.peek() == JsonReader::Type::Object) {
      read_delta(reader);
    } else if (key == "finish_reason" && reader.peek() == JsonReader::Type::String) {
      finish_reason_.clear();
      reader.read_string(finish_reason_);
    } else {
      reader.skip_value();
    }
  }
}

void OpenAiChunkDecoder::read_delta(JsonReader& reader) {
  reader.begin_object();
  std::string_view key;
  while (reader.next_key(key)) {
    if (key == "content") {
      read_channel(reader, content_);
    } else if (key == "reasoning_content" || key == "reasoning") {
      read_channel(reader, reasoning_);
    } else {
      reader.skip_value();
    }
  }
}

// A string fills the channel; null and other types leave it absent.
void OpenAiChunkDecoder::read_channel(JsonReader& reader, Channel& channel) {
  if (reader.peek() != JsonReader::Type::String) {
    reader.skip_value();
    return;
  }
  channel.text.clear();
  channel.present = reader.read_string(channel.text, &channel.pending_high_surrogate);
}

void OpenAiChunkDecoder::emit_text(SourceEvent::Kind kind, std::string_view text,
                                   SourceSink& sink) {
  if (text.empty()) return;
  SourceEvent event;
  event.kind = kind;
  event.text = text;
  sink.on_event(event);
}

void OpenAiChunkDecoder::end(SourceSink& sink) {
  // A surrogate still waiting for its low half never gets it.
  if (reasoning_.pending_high_surrogate != 0)
    emit_text(SourceEvent::Kind::Reasoning, utf8::kReplacement, sink);
  if (content_.pending_high_surrogate != 0)
    emit_text(SourceEvent::Kind::Answer, utf8::kReplacement, sink);
  reasoning_.pending_high_surrogate = content_.pending_high_surrogate = 0;
  ended_ = true;
  SourceEvent event;
  event.kind = SourceEvent::Kind::End;
  event.usage = usage_;
  event.finish_reason = finish_reason_;
  sink.on_event(event);
}

void OpenAiChunkDecoder::fail(const StreamError& error, SourceSink& sink) {
  ended_ = true;
  SourceEvent event;
  event.kind = SourceEvent::Kind::Error;
  event.error = &error;
  sink.on_event(event);
}

}  // namespace zaiproxy
