// Pieces of upstream events that every provider decoder reads the same way (internal).
#pragma once

#include <string_view>

#include "json_reader.hpp"
#include "zaiproxy/events.hpp"

namespace zaiproxy::upstream {

// `payload` without leading and trailing ASCII whitespace.

// Reads an upstream `error` value. An object gives `code` (number → its digits with
// code_is_number, string → as is) and a message from `detail`, else `message`, else `msg`, else
// the code; a string is the message itself. Returns whether the value was an error (null, false
// and the like are not). Syntax errors are left on the reader.
bool read_error(JsonReader& reader, StreamError& error);

// Reads a `usage` object (prompt_tokens, completion_tokens, total_tokens; a missing total is the
// sum). Returns false when the value is not an object.
bool read_usage(JsonReader& reader, Usage& usage);

// The Protocol error for a payload that is not a valid event; its message quotes a short,
// printable prefix of the payload.
StreamError invalid_event_error(std::string_view payload);

}  // namespace zaiproxy::upstream
