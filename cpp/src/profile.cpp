// Reads and validates profile.json (see python/zaiproxy/data/profile.json for the shape).
#include "zaiproxy/profile.hpp"

#include <algorithm>
#include <stdexcept>

#include "profile_reader.hpp"
#include "query_template.hpp"

namespace zaiproxy {

namespace {

using profile_reader::Json;
using profile_reader::Node;

Endpoints read_endpoints(const Node& root) {
  const Node paths = root.at("endpoints");
  Endpoints endpoints{paths.at("landing").string(),   "",
                      paths.at("auths").string(),     paths.at("models").string(),
                      paths.at("chats_new").string(), paths.at("chats_delete").string(),
                      paths.at("files").string()};
  // Which completion endpoint is in use is data too: upstream moved from v1 to v2 once (§1.6).
  const Node in_use = root.at("completion_endpoint");
  const std::string key = in_use.string();
  if (!paths.has(key.c_str())) in_use.fail("names no entry of endpoints");
  endpoints.completions = paths.at(key.c_str()).string();
  return endpoints;
}

BrowserProfile read_browser(const Node& root) {
  const Node browser = root.at("browser");
  BrowserProfile profile{
      browser.at("user_agent").string(), browser.at("accept_language").string(), {}};
  if (browser.has("headers")) {
    const Node headers = browser.at("headers");
    for (const auto& [name, value] : headers.object().items()) {
      profile.headers.emplace_back(name, headers.at(name.c_str()).string());
    }
  }
  return profile;
}

std::vector<QueryField> read_completion_query(const Node& root) {
  const Node list = root.at("completion_query");
  std::vector<QueryField> fields;
  for (size_t i = 0; i < list.size(); ++i) {
    const Node pair = list.at(i);
    if (pair.size() != 2) pair.fail("expected [name, value]");
    QueryField field{pair.at(size_t{0}).string(), pair.at(size_t{1}).text()};
    try {
      expand_query_template(field.value_template, QueryValues{});
    } catch (const std::invalid_argument& e) {
      pair.at(size_t{1}).fail(e.what());
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

VariablesProfile read_variables(const Node& root) {
  const Node variables = root.at("variables");
  const long long offset = variables.integer("utc_offset_minutes");
  if (offset < -24 * 60 || offset > 24 * 60) {
    variables.at("utc_offset_minutes").fail("expected minutes within a day");
  }
  return {variables.at("user_name").string(), variables.at("user_location").string(),
          variables.at("timezone").string(), variables.at("language").string(),
          static_cast<int>(offset)};
}

ChatCreationProfile read_chat_creation(const Node& root) {
  const Node creation = root.at("chat_creation");
  const long long limit = creation.integer("content_limit");
  if (limit <= 0) creation.at("content_limit").fail("expected a positive integer");
  return {creation.at("title").string(), static_cast<size_t>(limit), creation.objects("features")};
}

std::vector<ModelVariant> read_variants(const Node& root) {
  std::vector<ModelVariant> variants;
  const Node list = root.at("variants");
  for (size_t i = 0; i < list.size(); ++i) {
    const Node entry = list.at(i);
    ModelVariant variant;
    variant.suffix = entry.at("suffix").string();
    if (entry.has("enable_thinking"))
      variant.enable_thinking = entry.boolean("enable_thinking", false);
    if (entry.has("web_search")) variant.web_search = entry.boolean("web_search", false);
    variant.mcp_servers = entry.strings("mcp_servers");
    variants.push_back(std::move(variant));
  }
  return variants;
}

ResolvedModel read_model(const Node& entry, const Json& completion_features,
                         const Json& chat_features) {
  ResolvedModel model;
  model.alias = entry.at("alias").string();
  model.upstream_id = entry.at("upstream").string();
  model.name = entry.string("name", model.alias);
  model.enable_thinking = entry.boolean("enable_thinking", false);
  model.web_search = entry.boolean("web_search", false);
  model.preview_mode = entry.boolean("preview_mode", true);
  model.mcp_servers = entry.strings("mcp_servers");
  model.needs_chat_creation = entry.boolean("chat_creation", false);
  model.guest_allowed = entry.boolean("guest_allowed", true);
  model.vision = entry.boolean("vision", false);
  model.completion_features =
      entry.has("completion_features") ? entry.objects("completion_features") : completion_features;
  model.chat_features = entry.has("chat_features") ? entry.objects("chat_features") : chat_features;
  return model;
}

// Extra client names: {"my-name": "GLM-4.5-Thinking"} (what load_profile makes of PRIMARY_MODEL…).
std::vector<std::pair<std::string, std::string>> read_renames(const Node& root) {
  std::vector<std::pair<std::string, std::string>> renames;
  if (!root.has("renames")) return renames;
  const Node list = root.at("renames");
  for (const auto& [name, target] : list.object().items()) {
    renames.emplace_back(name, list.at(name.c_str()).string());
  }
  return renames;
}

ModelCatalogue read_catalogue(const Node& root, const Json& chat_features) {
  const std::vector<ModelVariant> variants = read_variants(root);
  const Json& completion_features = root.objects("completion_features");
  const Node list = root.at("models");
  std::vector<ResolvedModel> bases;
  std::vector<std::vector<std::string>> advertised;
  for (size_t i = 0; i < list.size(); ++i) {
    const Node entry = list.at(i);
    bases.push_back(read_model(entry, completion_features, chat_features));
    advertised.push_back(entry.strings("variants"));
    for (const std::string& suffix : advertised.back()) {
      if (std::none_of(variants.begin(), variants.end(),
                       [&](const ModelVariant& v) { return v.suffix == suffix; })) {
        entry.at("variants").fail("'" + suffix + "' is not in the top-level variants");
      }
    }
  }
  const Node default_model = root.at("default_model");
  const std::string default_alias = default_model.string();
  if (std::none_of(bases.begin(), bases.end(),
                   [&](const ResolvedModel& m) { return m.alias == default_alias; })) {
    default_model.fail("'" + default_alias + "' is not the alias of a model");
  }
  try {
    return ModelCatalogue(std::move(bases), variants, std::move(advertised), default_alias,
                          read_renames(root));
  } catch (const std::invalid_argument& e) {
    root.at("renames").fail(e.what());
  }
}

}  // namespace

Profile Profile::from_json(std::string_view json_text) {
  Json document;
  try {
    document = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw std::invalid_argument(std::string("profile: not JSON: ") + e.what());
  }
  const Node root(document, "");
  auto data = std::make_shared<ProfileData>();
  data->origin = root.at("origin").string();
  data->endpoints = read_endpoints(root);
  data->fe_version_fallback = root.at("fe_version_fallback").string();
  data->signing_key = root.at("signing_key").string();
  data->browser = read_browser(root);
  data->completion_query = read_completion_query(root);
  data->variables = read_variables(root);
  data->model_item_owned_by = root.at("model_item_owned_by").string();
  data->chat_creation = read_chat_creation(root);
  data->catalogue = read_catalogue(root, data->chat_creation.features);
  return Profile(std::move(data));
}

}  // namespace zaiproxy
