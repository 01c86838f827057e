// Typed reads from the profile JSON (internal): every failure is a std::invalid_argument that
// names the JSON path, so an operator editing profile.json sees exactly what to fix.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zaiproxy::profile_reader {

using Json = nlohmann::ordered_json;

// A value and where it sits in the document ("" is the root).
class Node {
 public:
  Node(const Json& value, std::string path) : value_(value), path_(std::move(path)) {}

  const Json& value() const { return value_; }
  const std::string& path() const { return path_; }
  bool has(const char* key) const { return value_.contains(key); }

  Node at(const char* key) const;  // required member (the node must be an object)
  Node at(size_t index) const;     // element of an array
  size_t size() const;             // of an array (the node must be one)

  std::string string() const;  // non-empty string
  std::string text() const;    // any string, empty included
  std::string string(const char* key, std::string fallback) const;
  bool boolean(const char* key, bool fallback) const;
  long long integer(const char* key) const;
  std::vector<std::string> strings(const char* key) const;  // absent: empty
  const Json& objects(const char* key) const;               // array of objects; absent: empty
  const Json& object() const;

  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string child_path(const char* key) const;
  const Json& value_;
  std::string path_;
};

}  // namespace zaiproxy::profile_reader
