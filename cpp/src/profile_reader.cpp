#include "profile_reader.hpp"

#include <stdexcept>

namespace zaiproxy::profile_reader {

namespace {
const Json& empty_array() {
  static const Json kEmpty = Json::array();
  return kEmpty;
}
}  // namespace

void Node::fail(const std::string& what) const {
  throw std::invalid_argument("profile: " + (path_.empty() ? std::string("(root)") : path_) + ": " +
                              what);
}

std::string Node::child_path(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

const Json& Node::object() const {
  if (!value_.is_object()) fail("expected an object");
  return value_;
}

Node Node::at(const char* key) const {
  const Json& members = object();
  const auto found = members.find(key);
  if (found == members.end()) Node(value_, child_path(key)).fail("missing");
  return Node(*found, child_path(key));
}

size_t Node::size() const {
  if (!value_.is_array()) fail("expected a list");
  return value_.size();
}

Node Node::at(size_t index) const {
  if (index >= size()) fail("index out of range");
  return Node(value_[index], path_ + "[" + std::to_string(index) + "]");
}

std::string Node::string() const {
  if (!value_.is_string() || value_.get_ref<const std::string&>().empty()) {
    fail("expected a non-empty string");
  }
  return value_.get<std::string>();
}

std::string Node::text() const {
  if (!value_.is_string()) fail("expected a string");
  return value_.get<std::string>();
}

std::string Node::string(const char* key, std::string fallback) const {
  return has(key) ? at(key).string() : fallback;
}

bool Node::boolean(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  const Node node = at(key);
  if (!node.value().is_boolean()) node.fail("expected true or false");
  return node.value().get<bool>();
}

long long Node::integer(const char* key) const {
  const Node node = at(key);
  if (!node.value().is_number_integer()) node.fail("expected an integer");
  return node.value().get<long long>();
}

std::vector<std::string> Node::strings(const char* key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  const Node list = at(key);
  for (size_t i = 0; i < list.size(); ++i) out.push_back(list.at(i).string());
  return out;
}

const Json& Node::objects(const char* key) const {
  if (!has(key)) return empty_array();
  const Node list = at(key);
  for (size_t i = 0; i < list.size(); ++i) list.at(i).object();
  return list.value();
}

}  // namespace zaiproxy::profile_reader
