// Test oracles for the client-facing output: they parse an encoder's bytes back and check the
// rules of toolcall-and-think.md A4.3 (OpenAI) and A4.4 (Anthropic) and the invariants of C.5.
//
//   parse_openai_sse / parse_anthropic_sse    a whole SSE response → what a client would see
//   parse_openai_json / parse_anthropic_json  a non-streaming document → the same fields
//   fold_openai_stream / fold_anthropic_stream  a parsed stream → the non-streaming document a
//                                             client would build from it; the Aggregator must
//                                             write exactly that for the same events (C.5 rule 1)
//   without_tool_call_ids                     a document with its random tool call ids cut to
//                                             their prefix, to compare a fold with a document
//
// Every parser collects rule violations in `problems` instead of failing, so a test can show all
// of them at once: `EXPECT_TRUE(stream.problems.empty()) << describe(stream.problems)`. Text that
// is not valid UTF-8 fails the JSON parse and shows up there too (C.5 rule 5), and so do tool
// call arguments that are not a JSON object (C.5 rule 6).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zaiproxy::testing {

// One SSE frame: the `event:` field (empty when absent) and the `data:` field.
struct SseFrame {
  std::string event;
  std::string data;
};

// Splits `bytes` into frames. The encoders write each frame as `event: …\n` (optional) and one
// `data: …\n` line followed by a blank line; anything else is reported in `problems`.
inline std::vector<SseFrame> split_sse_frames(std::string_view bytes,
                                              std::vector<std::string>& problems) {
  std::vector<SseFrame> frames;
  while (!bytes.empty()) {
    const size_t end = bytes.find("\n\n");
    if (end == std::string_view::npos) {
      problems.push_back("bytes after the last frame: " + std::string(bytes));
      break;
    }
    std::string_view frame = bytes.substr(0, end);
    bytes.remove_prefix(end + 2);
    SseFrame parsed;
    if (frame.rfind("event: ", 0) == 0) {
      const size_t line_end = frame.find('\n');
      parsed.event = std::string(frame.substr(7, line_end - 7));
      frame = line_end == std::string_view::npos ? std::string_view() : frame.substr(line_end + 1);
    }
    if (frame.rfind("data: ", 0) != 0 || frame.find('\n') != std::string_view::npos) {
      problems.push_back("frame is not a single `data: ` line: " + std::string(frame));
      continue;
    }
    parsed.data = std::string(frame.substr(6));
    frames.push_back(std::move(parsed));
  }
  return frames;
}

// Parses JSON, recording a failure (bad syntax, invalid UTF-8) in `problems` as a null value.
inline nlohmann::json parse_json_or_report(std::string_view text,
                                           std::vector<std::string>& problems) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    problems.push_back("invalid JSON: " + std::string(text));
    return nullptr;
  }
  return value;
}

inline std::string describe(const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& problem : problems) text += "\n  " + problem;
  return text;
}

// Whether `id` is `prefix` followed by exactly 24 base62 characters, as random_id() makes them.
inline bool is_generated_id(const nlohmann::json& id, std::string_view prefix) {
  if (!id.is_string()) return false;
  const std::string& text = id.get_ref<const std::string&>();
  return text.size() == prefix.size() + 24 && text.compare(0, prefix.size(), prefix) == 0 &&
         std::all_of(text.begin() + static_cast<std::ptrdiff_t>(prefix.size()), text.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

// Parses tool call arguments, recording in `problems` anything but a JSON object (C.5 rule 6).
inline nlohmann::json parse_arguments_or_report(std::string_view arguments,
                                                std::vector<std::string>& problems) {
  nlohmann::json value = parse_json_or_report(arguments, problems);
  if (!value.is_null() && !value.is_object())
    problems.push_back("tool call arguments are not a JSON object: " + std::string(arguments));
  return value;
}

// ───── OpenAI chat completions ─────

// A tool call as the OpenAI SDKs accumulate it from the deltas of one index.
struct OpenAiToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text: the fragments joined
};

struct OpenAiStream {
  std::vector<nlohmann::json> chunks;      // every `data:` payload except [DONE], in order
  std::string content;                     // all delta.content joined
  std::string reasoning;                   // all delta.reasoning_content joined
  std::vector<OpenAiToolCall> tool_calls;  // by index
  std::optional<std::string> finish_reason;
  std::optional<nlohmann::json> usage;  // `usage` of the usage chunk (`choices` empty)
  std::optional<nlohmann::json> error;  // the `error` object of an error frame
  size_t role_chunks = 0;               // chunks whose delta has `role`
  size_t finish_chunks = 0;             // chunks with a non-null finish_reason
  size_t done_count = 0;                // `data: [DONE]` frames
  bool done_last = false;               // the last frame is [DONE]
  bool ids_equal = true;                // id, object, created and model equal on all chunks
  std::vector<std::string> problems;    // A4.3 / C.5 rule 2 violations
};

// The first delta entry of a call: index, id, type and name, and possibly all the arguments.
inline void start_openai_tool_call(const nlohmann::json& entry, OpenAiStream& stream) {
  auto& problems = stream.problems;
  const nlohmann::json id = entry.value("id", nlohmann::json());
  if (!is_generated_id(id, "call_")) problems.push_back("tool call id is not call_<24 base62>");
  for (const OpenAiToolCall& call : stream.tool_calls)
    if (id.is_string() && call.id == id) problems.push_back("two tool calls share an id");
  if (entry.value("type", "") != "function") problems.push_back("tool call type is not function");
  const nlohmann::json function = entry.value("function", nlohmann::json::object());
  const nlohmann::json name = function.value("name", nlohmann::json());
  const nlohmann::json arguments = function.value("arguments", nlohmann::json(""));
  if (!name.is_string() || name == "") problems.push_back("tool call without a name");
  if (!arguments.is_string()) problems.push_back("tool call arguments are not a string");
  stream.tool_calls.push_back({id.is_string() ? id.get<std::string>() : "",
                               name.is_string() ? name.get<std::string>() : "",
                               arguments.is_string() ? arguments.get<std::string>() : ""});
}

// A later delta entry of a call: only argument fragments (A4.3 step 3, alternative form). The
// SDKs concatenate every string field, so a repeated id or name would corrupt the call.
inline void continue_openai_tool_call(const nlohmann::json& entry, OpenAiToolCall& call,
                                      std::vector<std::string>& problems) {
  if (entry.contains("id")) problems.push_back("tool call id repeated for index " + entry.dump());
  const nlohmann::json function = entry.value("function", nlohmann::json::object());
  if (function.contains("name")) problems.push_back("tool call name repeated: " + entry.dump());
  const nlohmann::json fragment = function.value("arguments", nlohmann::json(""));
  if (!fragment.is_string()) {
    problems.push_back("tool call arguments are not a string");
    return;
  }
  call.arguments += fragment.get<std::string>();
}

// Accumulates a delta's `tool_calls` by index: a new index must be the next one.
inline void add_openai_tool_call_deltas(const nlohmann::json& entries, OpenAiStream& stream) {
  if (!entries.is_array() || entries.empty()) {
    stream.problems.push_back("tool_calls is not a non-empty array");
    return;
  }
  for (const nlohmann::json& entry : entries) {
    const nlohmann::json index = entry.value("index", nlohmann::json());
    if (!index.is_number_unsigned() || index.get<size_t>() > stream.tool_calls.size()) {
      stream.problems.push_back("tool call index is neither known nor the next: " + entry.dump());
    } else if (index.get<size_t>() == stream.tool_calls.size()) {
      start_openai_tool_call(entry, stream);
    } else {
      continue_openai_tool_call(entry, stream.tool_calls[index.get<size_t>()], stream.problems);
    }
  }
}

inline OpenAiStream parse_openai_sse(std::string_view bytes) {
  OpenAiStream stream;
  auto& problems = stream.problems;
  const std::vector<SseFrame> frames = split_sse_frames(bytes, problems);
  std::optional<nlohmann::json> first;  // identity fields of the first chunk
  for (size_t i = 0; i < frames.size(); ++i) {
    const SseFrame& frame = frames[i];
    if (!frame.event.empty()) problems.push_back("OpenAI frame with an event name: " + frame.event);
    if (stream.done_count > 0) problems.push_back("frame after [DONE]: " + frame.data);
    if (frame.data == "[DONE]") {
      ++stream.done_count;
      continue;
    }
    nlohmann::json chunk = parse_json_or_report(frame.data, problems);
    if (!chunk.is_object()) continue;
    stream.chunks.push_back(chunk);
    if (chunk.contains("error")) {
      if (stream.error) problems.push_back("second error frame");
      stream.error = chunk["error"];
      continue;
    }
    if (stream.error) problems.push_back("chunk after the error: " + frame.data);
    if (chunk.value("object", "") != "chat.completion.chunk")
      problems.push_back("object is not chat.completion.chunk: " + frame.data);
    const nlohmann::json identity = {
        chunk.value("id", nlohmann::json()), chunk.value("object", nlohmann::json()),
        chunk.value("created", nlohmann::json()), chunk.value("model", nlohmann::json())};
    if (!first) first = identity;
    if (identity != *first) stream.ids_equal = false;

    if (!chunk.contains("choices") || !chunk["choices"].is_array()) {
      problems.push_back("chunk without choices: " + frame.data);
      continue;
    }
    const nlohmann::json& choices = chunk["choices"];
    if (choices.empty()) {  // the usage chunk: after the finish chunk, once
      if (stream.finish_chunks == 0) problems.push_back("usage chunk before the finish chunk");
      if (stream.usage) problems.push_back("second usage chunk");
      stream.usage = chunk.value("usage", nlohmann::json());
      continue;
    }
    if (stream.finish_chunks > 0) problems.push_back("chunk after the finish chunk: " + frame.data);
    const nlohmann::json& choice = choices.at(0);
    const nlohmann::json& delta = choice.at("delta");
    if (delta.contains("role")) {
      ++stream.role_chunks;
      if (stream.chunks.size() != 1) problems.push_back("role chunk is not the first chunk");
    } else if (stream.role_chunks == 0) {
      problems.push_back("chunk before the role chunk: " + frame.data);
    }
    for (const char* field : {"content", "reasoning_content"}) {
      if (!delta.contains(field) || delta.contains("role")) continue;
      const std::string text = delta[field].get<std::string>();
      if (text.empty()) problems.push_back(std::string("empty ") + field + " delta");
      (field == std::string("content") ? stream.content : stream.reasoning) += text;
    }
    if (delta.contains("tool_calls")) add_openai_tool_call_deltas(delta["tool_calls"], stream);
    if (!choice.at("finish_reason").is_null()) {
      ++stream.finish_chunks;
      stream.finish_reason = choice["finish_reason"].get<std::string>();
      if (!delta.empty()) problems.push_back("finish chunk with a non-empty delta");
    }
  }
  stream.done_last = !frames.empty() && frames.back().data == "[DONE]";
  if (stream.done_count != 1) problems.push_back("[DONE] count is not 1");
  if (!stream.done_last) problems.push_back("[DONE] is not the last frame");
  if (!stream.error) {
    if (stream.role_chunks != 1) problems.push_back("role chunk count is not 1");
    if (stream.finish_chunks != 1) problems.push_back("finish chunk count is not 1");
  }
  if (!stream.ids_equal) problems.push_back("id/object/created/model differ between chunks");
  for (const OpenAiToolCall& call : stream.tool_calls)
    parse_arguments_or_report(call.arguments, problems);
  return stream;
}

// The chat.completion document a client builds from `stream`; `usage` only when the stream
// had a usage chunk, `reasoning_content` only when reasoning was streamed, `tool_calls` only
// when calls were streamed.
inline nlohmann::json fold_openai_stream(const OpenAiStream& stream) {
  if (stream.error) return {{"error", *stream.error}};
  nlohmann::json message = {{"role", "assistant"}, {"content", stream.content}};
  if (!stream.reasoning.empty()) message["reasoning_content"] = stream.reasoning;
  for (const OpenAiToolCall& call : stream.tool_calls) {
    message["tool_calls"].push_back(
        {{"id", call.id},
         {"type", "function"},
         {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  }
  // A message that only calls tools has no content at all (A4.3).
  if (stream.content.empty() && !stream.tool_calls.empty()) message["content"] = nullptr;
  nlohmann::json document;
  if (!stream.chunks.empty()) {
    const nlohmann::json& first = stream.chunks.front();
    document = {
        {"id", first.at("id")}, {"created", first.at("created")}, {"model", first.at("model")}};
  }
  document["object"] = "chat.completion";
  document["choices"] = nlohmann::json::array(
      {{{"index", 0},
        {"message", message},
        {"finish_reason",
         stream.finish_reason ? nlohmann::json(*stream.finish_reason) : nlohmann::json()}}});
  if (stream.usage) document["usage"] = *stream.usage;
  return document;
}

struct OpenAiDocument {
  nlohmann::json document;
  std::string content;  // "" when null
  std::vector<OpenAiToolCall> tool_calls;
  std::optional<std::string> reasoning;  // message.reasoning_content, when present
  std::optional<std::string> finish_reason;
  std::optional<nlohmann::json> usage;
  std::optional<nlohmann::json> error;  // the `error` object of an error document
  std::vector<std::string> problems;
};

// message.tool_calls: the stream's calls without their index.
inline void add_openai_message_tool_calls(const nlohmann::json& calls, OpenAiDocument& result) {
  auto& problems = result.problems;
  if (!calls.is_array() || calls.empty()) problems.push_back("tool_calls is not a non-empty array");
  if (!calls.is_array()) return;
  for (const nlohmann::json& call : calls) {
    if (call.contains("index")) problems.push_back("message tool call with an index");
    if (!is_generated_id(call.value("id", nlohmann::json()), "call_"))
      problems.push_back("tool call id is not call_<24 base62>");
    if (call.value("type", "") != "function") problems.push_back("tool call type is not function");
    const nlohmann::json& function = call.at("function");
    result.tool_calls.push_back({call.value("id", ""), function.at("name").get<std::string>(),
                                 function.at("arguments").get<std::string>()});
    parse_arguments_or_report(result.tool_calls.back().arguments, problems);
  }
}

inline OpenAiDocument parse_openai_json(std::string_view bytes) {
  OpenAiDocument result;
  result.document = parse_json_or_report(bytes, result.problems);
  const nlohmann::json& document = result.document;
  if (!document.is_object()) return result;
  if (document.contains("error")) {
    result.error = document["error"];
    return result;
  }
  if (document.value("object", "") != "chat.completion")
    result.problems.push_back("object is not chat.completion");
  const nlohmann::json& choice = document.at("choices").at(0);
  const nlohmann::json& message = choice.at("message");
  if (message.value("role", "") != "assistant") result.problems.push_back("role is not assistant");
  if (message.at("content").is_string()) result.content = message["content"].get<std::string>();
  if (message.contains("tool_calls")) add_openai_message_tool_calls(message["tool_calls"], result);
  const bool content_is_null = message.at("content").is_null();
  if (content_is_null != (result.content.empty() && !result.tool_calls.empty()))
    result.problems.push_back("content is not null exactly when it is empty beside tool calls");
  if (message.contains("reasoning_content"))
    result.reasoning = message["reasoning_content"].get<std::string>();
  if (choice.at("finish_reason").is_string())
    result.finish_reason = choice["finish_reason"].get<std::string>();
  if (document.contains("usage")) result.usage = document["usage"];
  return result;
}

// ───── Anthropic Messages ─────

// A tool_use block as a client reads it: `input` is the block's input_json_delta text joined and
// parsed (null when it is not JSON), or the whole block's input in a document.
struct AnthropicToolUse {
  std::string id;
  std::string name;
  nlohmann::json input;
};

struct AnthropicStream {
  std::vector<std::string> events;          // event names, in order
  std::vector<nlohmann::json> data;         // the parsed data of each event
  std::string thinking;                     // all thinking_delta text joined
  std::string text;                         // all text_delta text joined
  std::vector<AnthropicToolUse> tool_uses;  // the tool_use blocks, in order
  std::vector<std::string> block_types;     // content_block.type of each block, by index
  std::optional<std::string> stop_reason;
  std::optional<nlohmann::json> usage;  // message_delta's usage
  std::optional<nlohmann::json> error;  // the `error` object of an error event
  // Blocks start at index 0 and go up by one, one at a time, each delta and stop in the open
  // block with a matching delta type, all closed before message_delta.
  bool blocks_well_formed = true;
  std::vector<std::string> problems;  // A4.4 violations, block problems included
};

// A tool_use block as it is written, in content_block_start or in a message; its id must be a
// generated one and its name not empty.
inline AnthropicToolUse read_tool_use(const nlohmann::json& block,
                                      std::vector<std::string>& problems) {
  const nlohmann::json id = block.value("id", nlohmann::json());
  if (!is_generated_id(id, "toolu_")) problems.push_back("tool_use id is not toolu_<24 base62>");
  const nlohmann::json name = block.value("name", nlohmann::json());
  if (!name.is_string() || name == "") problems.push_back("tool_use block without a name");
  return {id.is_string() ? id.get<std::string>() : "",
          name.is_string() ? name.get<std::string>() : "", block.value("input", nlohmann::json())};
}

inline AnthropicStream parse_anthropic_sse(std::string_view bytes) {
  AnthropicStream stream;
  auto& problems = stream.problems;
  auto block_problem = [&](const std::string& what) {
    stream.blocks_well_formed = false;
    problems.push_back(what);
  };
  std::optional<size_t> open_index;
  std::string partial_json;  // input_json_delta text of the open tool_use block
  bool ended = false;
  for (const SseFrame& frame : split_sse_frames(bytes, problems)) {
    if (ended) problems.push_back("event after the end: " + frame.event);
    nlohmann::json data = parse_json_or_report(frame.data, problems);
    stream.events.push_back(frame.event);
    stream.data.push_back(data);
    if (!data.is_object()) continue;
    if (data.value("type", "") != frame.event)
      problems.push_back("event name differs from data.type: " + frame.event);
    const std::string& name = frame.event;
    const size_t position = stream.events.size() - 1;
    if ((name == "message_start") != (position == 0) && name != "error")
      problems.push_back("message_start is not the first event");
    if (name == "ping" && position != 1) problems.push_back("ping is not the second event");
    if (name == "content_block_start") {
      const size_t index = data.at("index").get<size_t>();
      if (open_index) block_problem("content_block_start while a block is open");
      if (index != stream.block_types.size()) block_problem("block index does not go up by one");
      open_index = index;
      const nlohmann::json& block = data.at("content_block");
      stream.block_types.push_back(block.at("type").get<std::string>());
      if (stream.block_types.back() == "tool_use") {
        stream.tool_uses.push_back(read_tool_use(block, problems));
        if (stream.tool_uses.back().input != nlohmann::json::object())
          problems.push_back("tool_use block does not start with input {}");
        partial_json.clear();
      }
    } else if (name == "content_block_delta") {
      const size_t index = data.at("index").get<size_t>();
      if (open_index != index) {
        block_problem("delta outside the open block");
        continue;
      }
      const nlohmann::json& delta = data.at("delta");
      const std::string type = delta.at("type").get<std::string>();
      const std::string& block_type = stream.block_types[index];
      if (type == "thinking_delta" && block_type == "thinking") {
        stream.thinking += delta.at("thinking").get<std::string>();
      } else if (type == "text_delta" && block_type == "text") {
        stream.text += delta.at("text").get<std::string>();
      } else if (type == "input_json_delta" && block_type == "tool_use") {
        partial_json += delta.at("partial_json").get<std::string>();
      } else {
        block_problem(type + " in a " + block_type + " block");
      }
    } else if (name == "content_block_stop") {
      if (open_index != data.at("index").get<size_t>()) block_problem("stop of a block not open");
      if (open_index && stream.block_types[*open_index] == "tool_use") {
        // The SDKs keep the start's {} when no delta came, and parse the joined deltas otherwise.
        stream.tool_uses.back().input = partial_json.empty()
                                            ? nlohmann::json::object()
                                            : parse_arguments_or_report(partial_json, problems);
      }
      open_index.reset();
    } else if (name == "message_delta") {
      if (open_index) block_problem("message_delta while a block is open");
      if (stream.stop_reason) problems.push_back("second message_delta");
      stream.stop_reason = data.at("delta").at("stop_reason").get<std::string>();
      stream.usage = data.value("usage", nlohmann::json());
    } else if (name == "message_stop") {
      if (!stream.stop_reason) problems.push_back("message_stop without message_delta");
      ended = true;
    } else if (name == "error") {
      stream.error = data.at("error");
      ended = true;
    } else if (name != "message_start" && name != "ping") {
      problems.push_back("unknown event " + name);
    }
  }
  if (!ended) problems.push_back("no message_stop or error at the end");
  return stream;
}

// The message a client builds from `stream`: message_start's message, each block's start
// object with its deltas appended (a tool_use block's input is its input_json_delta text joined
// and parsed), message_delta's stop reason and usage merged in. An error stream folds to the
// error event's data.
inline nlohmann::json fold_anthropic_stream(const AnthropicStream& stream) {
  nlohmann::json message;
  std::map<size_t, std::string> partial_json;  // input_json_delta text by block index
  for (size_t i = 0; i < stream.events.size(); ++i) {
    const std::string& name = stream.events[i];
    const nlohmann::json& data = stream.data[i];
    if (name == "error") return data;
    if (name == "message_start") {
      message = data.at("message");
    } else if (name == "content_block_start") {
      message["content"].push_back(data.at("content_block"));
    } else if (name == "content_block_delta") {
      const size_t index = data.at("index").get<size_t>();
      nlohmann::json& block = message["content"].at(index);
      const nlohmann::json& delta = data.at("delta");
      if (delta.at("type") == "input_json_delta") {
        partial_json[index] += delta.at("partial_json").get<std::string>();
        continue;
      }
      const char* field = delta.at("type") == "thinking_delta" ? "thinking" : "text";
      block[field] = block[field].get<std::string>() + delta.at(field).get<std::string>();
    } else if (name == "content_block_stop") {
      const size_t index = data.at("index").get<size_t>();
      if (partial_json.count(index) != 0)
        message["content"].at(index)["input"] =
            nlohmann::json::parse(partial_json[index], nullptr, /*allow_exceptions=*/false);
    } else if (name == "message_delta") {
      for (const auto& [key, value] : data.at("delta").items()) message[key] = value;
      // A named copy: items() of a temporary would dangle.
      const nlohmann::json usage = data.value("usage", nlohmann::json::object());
      for (const auto& [key, value] : usage.items()) message["usage"][key] = value;
    }
  }
  return message;
}

struct AnthropicDocument {
  nlohmann::json document;
  std::string thinking;  // all thinking blocks joined
  std::string text;      // all text blocks joined
  std::vector<AnthropicToolUse> tool_uses;
  std::vector<std::string> block_types;
  std::optional<std::string> stop_reason;
  std::optional<nlohmann::json> usage;
  std::optional<nlohmann::json> error;  // the `error` object of an error document
  std::vector<std::string> problems;
};

inline AnthropicDocument parse_anthropic_json(std::string_view bytes) {
  AnthropicDocument result;
  result.document = parse_json_or_report(bytes, result.problems);
  const nlohmann::json& document = result.document;
  if (!document.is_object()) return result;
  if (document.value("type", "") == "error") {
    result.error = document.at("error");
    return result;
  }
  if (document.value("type", "") != "message") result.problems.push_back("type is not message");
  if (document.value("role", "") != "assistant") result.problems.push_back("role is not assistant");
  const nlohmann::json& content = document.at("content");
  if (content.empty()) result.problems.push_back("content is empty");
  for (const nlohmann::json& block : content) {
    const std::string type = block.at("type").get<std::string>();
    result.block_types.push_back(type);
    if (type == "thinking") {
      result.thinking += block.at("thinking").get<std::string>();
    } else if (type == "text") {
      result.text += block.at("text").get<std::string>();
    } else if (type == "tool_use") {
      result.tool_uses.push_back(read_tool_use(block, result.problems));
      if (!result.tool_uses.back().input.is_object())
        result.problems.push_back("tool_use input is not an object");
    } else {
      result.problems.push_back("unknown block type " + type);
    }
  }
  const bool has_tool_use = !result.tool_uses.empty();
  for (const nlohmann::json& block : content)
    if (has_tool_use && block.value("type", "") == "text" && block.value("text", "").empty())
      result.problems.push_back("empty text block beside a tool_use block");
  if (document.at("stop_reason").is_string())
    result.stop_reason = document["stop_reason"].get<std::string>();
  if (document.contains("usage")) result.usage = document["usage"];
  return result;
}

// ───── comparing documents ─────

// `document` (either dialect) with every tool call id cut to its prefix: the ids are random, so a
// folded stream and the document written for the same events differ there and only there.
inline nlohmann::json without_tool_call_ids(nlohmann::json document) {
  if (document.contains("choices")) {
    for (nlohmann::json& choice : document["choices"]) {
      nlohmann::json& message = choice["message"];
      if (!message.contains("tool_calls")) continue;
      for (nlohmann::json& call : message["tool_calls"]) call["id"] = "call_";
    }
  }
  if (document.contains("content") && document["content"].is_array()) {
    for (nlohmann::json& block : document["content"])
      if (block.value("type", "") == "tool_use") block["id"] = "toolu_";
  }
  return document;
}

}  // namespace zaiproxy::testing
