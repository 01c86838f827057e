// UTF-8 helpers shared by the decoders (internal).
//
// The z.ai document is kept as UTF-8 while its `edit_index` counts JavaScript UTF-16 code units, so
// the decoder needs both views of the same text; and every byte that reaches a client must be
// valid UTF-8 (toolcall-and-think.md §C.3).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zaiproxy::utf8 {

// U+FFFD, the replacement for every invalid sequence, lone surrogate and code point out of range.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length in UTF-16 code units of valid UTF-8 text: 1 per code point below U+10000, 2 above.
size_t utf16_length(std::string_view text);

// Length of the valid UTF-8 sequence that starts with the non-ASCII byte at `p`, or 0 when the
// sequence is invalid or cut short by the end of the `available` bytes.
size_t sequence_length(const char* p, size_t available);

// UTF-16 code units of the code point that a valid sequence of `sequence_length` bytes encodes.
constexpr size_t utf16_units(size_t sequence_length) { return sequence_length == 4 ? 2 : 1; }

// A position in a text, in both units.
struct Position {
  size_t bytes = 0;
  size_t utf16 = 0;
};

// The position of UTF-16 index `index` in valid UTF-8 `text` whose UTF-16 length is `text_utf16`.
// The index is clamped to the text and moved back to the start of the code point it falls in, so
// a surrogate pair or a UTF-8 sequence is never split. Walks from whichever end is closer: edits
// usually land near the end of a long document.
Position locate_utf16_index(std::string_view text, size_t text_utf16, size_t index);

// Appends `code_point` (at most U+10FFFF, not a surrogate) as UTF-8.
void append_code_point(std::string& out, char32_t code_point);

// Appends `bytes` with every invalid UTF-8 sequence (stray continuation bytes, overlong forms,
// UTF-8-encoded surrogates, values above U+10FFFF, truncated sequences) replaced by U+FFFD, one
// replacement per maximal invalid subpart as Unicode recommends.
void append_sanitized(std::string& out, std::string_view bytes);

}  // namespace zaiproxy::utf8
