#include "function_calls_parser.hpp"

#include <utility>

#include "ascii.hpp"
#include "utf8.hpp"

namespace zaiproxy::tool {
namespace {

using Json = nlohmann::ordered_json;

// dump() recurses once per nesting level; a model-written `[[[[…` of a megabyte must not take the
// stack with it. Real arguments nest a handful of levels.
constexpr int kMaxJsonDepth = 256;

// `&#x10FFFF;` and `&#1114111;` are the longest entities worth decoding.
constexpr size_t kLongestEntity = 10;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool nests_deeper_than(std::string_view json, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// The code point of `&#N;` / `&#xH;` (`digits` is what follows the `#`), or 0 when it is not one
// that XML allows.
char32_t numeric_reference(std::string_view digits) {
  int base = 10;
  if (!digits.empty() && (digits[0] == 'x' || digits[0] == 'X')) {
    base = 16;
    digits.remove_prefix(1);
  }
  if (digits.empty()) return 0;
  char32_t value = 0;
  for (char c : digits) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return 0;
    }
    value = value * base + digit;
    if (value > 0x10FFFF) return 0;
  }
  if (value >= 0xD800 && value <= 0xDFFF) return 0;  // a surrogate is no character
  return value;
}

// Decodes the entity at the start of `text` (which starts with '&') onto `out`; returns the bytes
// it took, 0 when `text` does not start with a known entity.
size_t append_entity(std::string& out, std::string_view text) {
  size_t semicolon = text.substr(0, kLongestEntity).find(';');
  if (semicolon == std::string_view::npos) return 0;
  std::string_view name = text.substr(1, semicolon - 1);
  if (name == "lt") {
    out.push_back('<');
  } else if (name == "gt") {
    out.push_back('>');
  } else if (name == "amp") {
    out.push_back('&');
  } else if (name == "quot") {
    out.push_back('"');
  } else if (name == "apos") {
    out.push_back('\'');
  } else if (starts_with(name, "#")) {
    char32_t code_point = numeric_reference(name.substr(1));
    if (code_point == 0) return 0;
    utf8::append_code_point(out, code_point);
  } else {
    return 0;
  }
  return semicolon + 1;
}

// A cursor over the body of `<function_calls>`.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && ascii::is_space(text_[pos_])) ++pos_;
  }
  // Consumes `literal` if the text continues with it.
  bool take(std::string_view literal) {
    if (!starts_with(text_.substr(pos_), literal)) return false;
    pos_ += literal.size();
    return true;
  }

  // An element's content up to `close` (consumed): CDATA sections verbatim, the character data
  // around them entity-decoded. nullopt when `close` is missing.
  std::optional<std::string> element_text(std::string_view close) {
    std::string text;
    bool closed = read_content(
        close, false, [&](std::string_view chars) { append_entity_decoded(text, chars); },
        [&](std::string_view cdata) { text.append(cdata); });
    if (!closed) return std::nullopt;
    return text;
  }

  // The payload of `<args_json>` up to `</args_json>` (consumed): the concatenated CDATA sections
  // if there are any, else the entity-decoded text. JSON string literals outside CDATA are opaque,
  // so `"</args_json>"` inside one does not close the element.
  std::optional<std::string> args_json_text() {
    std::string cdata_text;
    std::string decoded_text;
    bool has_cdata = false;
    bool closed = read_content(
        kArgsJsonClose, true,
        [&](std::string_view chars) { append_entity_decoded(decoded_text, chars); },
        [&](std::string_view cdata) {
          has_cdata = true;
          cdata_text.append(cdata);
        });
    if (!closed) return std::nullopt;
    return has_cdata ? std::move(cdata_text) : std::move(decoded_text);
  }

  // The rest of an `<invoke` or `<parameter` start tag, ` name="value">` with either quote: the
  // entity-decoded value.
  std::optional<std::string> name_attribute() {
    size_t tag_name_end = pos_;
    skip_space();
    if (pos_ == tag_name_end || !take("name")) return std::nullopt;
    skip_space();
    if (!take("=")) return std::nullopt;
    skip_space();
    if (at_end() || (text_[pos_] != '"' && text_[pos_] != '\'')) return std::nullopt;
    char quote = text_[pos_++];
    size_t value_end = text_.find(quote, pos_);
    if (value_end == std::string_view::npos) return std::nullopt;
    std::string value;
    append_entity_decoded(value, text_.substr(pos_, value_end - pos_));
    pos_ = value_end + 1;
    skip_space();
    if (!take(">")) return std::nullopt;
    return value;
  }

  // The key of a legacy `<args>` child, from its start tag `<key>` (consumed).
  std::optional<std::string_view> legacy_key() {
    if (!take("<")) return std::nullopt;
    size_t end = text_.find('>', pos_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view key = text_.substr(pos_, end - pos_);
    if (key.empty() || key.find_first_of("/< \t\r\n") != std::string_view::npos) {
      return std::nullopt;
    }
    pos_ = end + 1;
    return key;
  }

 private:
  // Walks to `close` and past it, reporting character data and CDATA content in order. With
  // `json_strings_opaque`, a `"…"` literal (backslash escapes honoured) is character data whatever
  // it holds. False when `close`, a CDATA end or a string end is missing.
  template <typename OnChars, typename OnCdata>
  bool read_content(std::string_view close, bool json_strings_opaque, OnChars on_chars,
                    OnCdata on_cdata) {
    std::string_view stops = json_strings_opaque ? "<\"" : "<";
    size_t chars_start = pos_;
    for (;;) {
      pos_ = text_.find_first_of(stops, pos_);
      if (pos_ == std::string_view::npos) return false;
      std::string_view rest = text_.substr(pos_);
      if (rest[0] == '"') {
        if (!skip_json_string()) return false;
      } else if (starts_with(rest, close)) {
        on_chars(text_.substr(chars_start, pos_ - chars_start));
        pos_ += close.size();
        return true;
      } else if (starts_with(rest, kCdataOpen)) {
        on_chars(text_.substr(chars_start, pos_ - chars_start));
        size_t content = pos_ + kCdataOpen.size();
        size_t end = text_.find(kCdataClose, content);
        if (end == std::string_view::npos) return false;
        on_cdata(text_.substr(content, end - content));
        pos_ = end + kCdataClose.size();
        chars_start = pos_;
      } else {
        ++pos_;
      }
    }
  }

  // Past the JSON string literal whose opening quote is at pos_.
  bool skip_json_string() {
    for (size_t i = pos_ + 1; i < text_.size(); ++i) {
      if (text_[i] == '\\') {
        ++i;
      } else if (text_[i] == '"') {
        pos_ = i + 1;
        return true;
      }
    }
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// A legacy or parameter value: the JSON value it spells, else the trimmed text as a string.
Json json_or_string(std::string_view text) {
  std::string_view trimmed = ascii::trim_space(text);
  if (std::optional<Json> value = parse_json(trimmed)) return std::move(*value);
  return Json(std::string(trimmed));
}

// An args_json payload: trimmed, unfenced, `{}` when empty; nullopt when it is not JSON.
std::optional<Json> args_json_value(std::string_view text) {
  std::string_view payload = ascii::trim_space(text);
  if (starts_with(payload, "```")) {
    payload.remove_prefix(3);
    if (starts_with(payload, "json")) payload.remove_prefix(4);
  }
  if (ends_with(payload, "```")) payload.remove_suffix(3);
  payload = ascii::trim_space(payload);
  if (payload.empty()) return Json::object();
  return parse_json(payload);
}

std::optional<std::string> trimmed_element_text(Reader& in, std::string_view close) {
  std::optional<std::string> text = in.element_text(close);
  if (!text) return std::nullopt;
  return std::string(ascii::trim_space(*text));
}

// `<args>` children after the start tag, up to and past `</args>`.
std::optional<Json> legacy_arguments(Reader& in) {
  Json arguments = Json::object();
  for (;;) {
    in.skip_space();
    if (in.take("</args>")) return arguments;
    std::optional<std::string_view> key = in.legacy_key();
    if (!key) return std::nullopt;
    std::optional<std::string> value = in.element_text("</" + std::string(*key) + ">");
    if (!value) return std::nullopt;
    arguments[std::string(*key)] = json_or_string(*value);
  }
}

// A `<function_call>` after its start tag, up to and past `</function_call>`.
std::optional<ParsedCall> function_call(Reader& in) {
  std::optional<std::string> name;
  Json arguments = Json::object();
  for (;;) {
    in.skip_space();
    if (in.take(kCallClose)) break;
    if (in.take("<tool>")) {
      name = trimmed_element_text(in, "</tool>");
      if (!name) return std::nullopt;
    } else if (in.take("<name>")) {
      name = trimmed_element_text(in, "</name>");
      if (!name) return std::nullopt;
    } else if (in.take(kArgsJsonOpen)) {
      std::optional<std::string> text = in.args_json_text();
      std::optional<Json> value = text ? args_json_value(*text) : std::nullopt;
      if (!value) return std::nullopt;
      arguments = std::move(*value);
    } else if (in.take("<args>")) {
      std::optional<Json> value = legacy_arguments(in);
      if (!value) return std::nullopt;
      arguments = std::move(*value);
    } else {
      return std::nullopt;
    }
  }
  if (!name) return std::nullopt;  // R4: a call without a name names no offered tool
  return ParsedCall{std::move(*name), std::move(arguments)};
}

// An `<invoke` after its tag name, up to and past `</invoke>`.
std::optional<ParsedCall> invoke(Reader& in) {
  std::optional<std::string> name = in.name_attribute();
  if (!name) return std::nullopt;
  Json arguments = Json::object();
  for (;;) {
    in.skip_space();
    if (in.take("</invoke>")) break;
    if (!in.take("<parameter")) return std::nullopt;
    std::optional<std::string> key = in.name_attribute();
    std::optional<std::string> value = key ? in.element_text("</parameter>") : std::nullopt;
    if (!value) return std::nullopt;
    arguments[*key] = json_or_string(*value);
  }
  return ParsedCall{std::string(ascii::trim_space(*name)), std::move(arguments)};
}

}  // namespace

bool is_all_ascii_space(std::string_view text) {
  for (char c : text) {
    if (!ascii::is_space(c)) return false;
  }
  return true;
}

std::optional<std::vector<ParsedCall>> parse_function_calls(std::string_view body) {
  Reader in(body);
  std::vector<ParsedCall> calls;
  for (;;) {
    in.skip_space();
    if (in.at_end()) break;
    std::optional<ParsedCall> call;
    if (in.take(kCallOpen)) {
      call = function_call(in);
    } else if (in.take("<invoke")) {
      call = invoke(in);
    }
    if (!call) return std::nullopt;
    calls.push_back(std::move(*call));
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

std::optional<Json> parse_json(std::string_view text) {
  if (nests_deeper_than(text, kMaxJsonDepth)) return std::nullopt;
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

std::string to_compact_json(const Json& value) {
  // Parsed input is valid UTF-8 already; `replace` only keeps a stray byte from throwing.
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

void append_entity_decoded(std::string& out, std::string_view text) {
  size_t pos = 0;
  for (;;) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) {
      out.append(text.substr(pos));
      return;
    }
    out.append(text.substr(pos, amp - pos));
    size_t taken = append_entity(out, text.substr(amp));
    if (taken == 0) {
      out.push_back('&');
      taken = 1;
    }
    pos = amp + taken;
  }
}

}  // namespace zaiproxy::tool
