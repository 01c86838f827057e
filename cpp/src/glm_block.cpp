#include "glm_block.hpp"

#include <functional>

#include "json_reader.hpp"

namespace zaiproxy::glm_block {
namespace {

constexpr std::string_view kClose = "</glm_block>";
constexpr std::string_view kNameAttribute = "tool_call_name=\"";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The value of the opening tag's `tool_call_name` attribute, or empty. The name has to start an
// attribute, so that `last_tool_call_name` is not taken for it.
std::string_view name_attribute(std::string_view tag) {
  for (size_t at = tag.find(kNameAttribute); at != std::string_view::npos;
       at = tag.find(kNameAttribute, at + 1)) {
    if (at == 0 || !is_space(tag[at - 1])) continue;
    const size_t value = at + kNameAttribute.size();
    const size_t quote = tag.find('"', value);
    if (quote == std::string_view::npos) return {};
    return tag.substr(value, quote - value);
  }
  return {};
}

bool views_into(std::string_view text, std::string_view part) {
  const std::less_equal<const char*> not_after;
  return not_after(text.data(), part.data()) &&
         not_after(part.data() + part.size(), text.data() + text.size());
}

// Length of the JSON object at the start of `text`. Only brackets and strings are followed: the
// result is used only if the JsonReader then finds the object well formed.
size_t object_length(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (in_string) {
      if (c == '\\') {
        ++at;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return at + 1;
    }
  }
  return text.size();
}

// Reads the block JSON down to `data.metadata`; every other value is skipped, which also checks
// that the whole text is well formed.
class BlockJsonReader {
 public:
  BlockJsonReader(std::string_view json, std::string& name_buffer, std::string& arguments_buffer)
      : json_(json),
        reader_(json),
        name_buffer_(name_buffer),
        arguments_buffer_(arguments_buffer) {}

  // The metadata's name and arguments; false when the JSON cannot be read.
  bool read(ToolUse& use) {
    if (reader_.peek() != JsonReader::Type::Object) return false;
    read_object(0);
    if (reader_.failed() || !reader_.at_end()) return false;
    use = use_;
    return true;
  }

 private:
  static constexpr std::string_view kPath[] = {"data", "metadata"};
  static constexpr int kMetadataLevel = 2;

  void read_object(int level) {
    reader_.begin_object();
    std::string_view key;
    while (reader_.next_key(key)) {
      if (level == kMetadataLevel) {
        read_metadata_member(key);
      } else if (key == kPath[level] && reader_.peek() == JsonReader::Type::Object) {
        read_object(level + 1);
      } else {
        reader_.skip_value();
      }
    }
  }

  void read_metadata_member(std::string_view key) {
    const JsonReader::Type type = reader_.peek();
    if (key == "name" && type == JsonReader::Type::String) {
      reader_.read_string_view(use_.name, name_buffer_);
    } else if (key == "arguments" && type == JsonReader::Type::String) {
      reader_.read_string_view(use_.arguments, arguments_buffer_);
    } else if (key == "arguments" && type == JsonReader::Type::Object) {
      use_.arguments = object_after(key);
      reader_.skip_value();
    } else {
      reader_.skip_value();
    }
  }

  // The text of the object value of `key`. JsonReader reports no positions, so the value is
  // found from the key's own view into the JSON; a key that had to be unescaped is viewed in a
  // buffer instead, and its object is not found.
  std::string_view object_after(std::string_view key) const {
    if (!views_into(json_, key)) return {};
    const size_t after_key = static_cast<size_t>(key.data() + key.size() - json_.data()) + 1;
    const size_t value = json_.find('{', after_key);  // only blanks and ':' come before it
    const std::string_view rest = json_.substr(value);
    return rest.substr(0, object_length(rest));
  }

  std::string_view json_;
  JsonReader reader_;
  std::string& name_buffer_;
  std::string& arguments_buffer_;
  ToolUse use_;
};

}  // namespace

ToolUse read_tool_use(std::string_view block, std::string& name_buffer,
                      std::string& arguments_buffer) {
  const size_t tag_end = block.find('>');
  if (tag_end == std::string_view::npos || block.size() < tag_end + 1 + kClose.size() ||
      block.substr(block.size() - kClose.size()) != kClose)
    return {};
  const std::string_view json =
      block.substr(tag_end + 1, block.size() - kClose.size() - (tag_end + 1));
  ToolUse use;
  if (!BlockJsonReader(json, name_buffer, arguments_buffer).read(use)) return {};
  if (use.name.empty()) use.name = name_attribute(block.substr(0, tag_end));
  return use;
}

}  // namespace zaiproxy::glm_block
