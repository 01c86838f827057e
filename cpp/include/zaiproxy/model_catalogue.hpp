// The model catalogue of the protocol profile (upstream-protocol.md §5): client-facing aliases,
// the upstream model each stands for and what the alias and its variants turn on.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace zaiproxy {

// What a model (or a model with a variant applied) asks of the upstream.
struct ResolvedModel {
  std::string alias;        // the catalogue's spelling, variant included: "GLM-4.7-Thinking"
  std::string upstream_id;  // body `model`: "glm-4.7"
  std::string name;         // the base model's display name (model_item.name)
  bool enable_thinking = false;
  bool web_search = false;  // web_search and auto_web_search
  bool preview_mode = true;
  std::vector<std::string> mcp_servers;
  bool needs_chat_creation = false;  // POST chats/new first (§1.4, §2.4)
  bool guest_allowed = true;         // false: upstream refuses guest tokens (§5.4)
  bool vision = false;
  // features.features of a non-persisted completion (§2.3) and `features` of chats/new (§1.4).
  nlohmann::ordered_json completion_features = nlohmann::ordered_json::array();
  nlohmann::ordered_json chat_features = nlohmann::ordered_json::array();
  // False when the requested name was unknown and the default model stands in.
  bool known = true;
};

// A name suffix and what it turns on over the base model.
struct ModelVariant {
  std::string suffix;  // "-Thinking"
  std::optional<bool> enable_thinking;
  std::optional<bool> web_search;
  std::vector<std::string> mcp_servers;  // added to the base model's
};

class ModelCatalogue {
 public:
  ModelCatalogue() = default;
  // `renames`: extra client names for catalogue names ("my-glm" → "GLM-4.5-Thinking"), as the
  // older proxies' model-name variables set them. Throws std::invalid_argument for a rename whose
  // target is not a catalogue name.
  ModelCatalogue(std::vector<ResolvedModel> bases, std::vector<ModelVariant> variants,
                 std::vector<std::vector<std::string>> advertised_variants,
                 std::string default_alias,
                 std::vector<std::pair<std::string, std::string>> renames = {});

  // Case-insensitive. In order: a rename (resolved as its target); a base alias; a base alias or
  // known upstream id followed by a variant suffix (any variant on any base: "GLM-4.5-Air-Thinking"
  // works); a known upstream id
  // ("glm-4.7", passed through as that model); anything else resolves to the default model with
  // known = false.
  ResolvedModel resolve(std::string_view name) const;

  // Every advertised name (each base, then the variants it lists, then the renames under their
  // own names), for /v1/models.
  std::vector<ResolvedModel> advertised() const;
  const std::string& default_alias() const { return default_alias_; }

 private:
  std::optional<ResolvedModel> find_base(std::string_view lowered) const;
  ResolvedModel with_variant(ResolvedModel base, const ModelVariant& variant) const;
  ResolvedModel resolve_catalogue_name(const std::string& lowered) const;

  std::vector<ResolvedModel> bases_;
  std::vector<ModelVariant> variants_;
  std::vector<std::vector<std::string>> advertised_variants_;  // per base, suffixes
  std::unordered_map<std::string, size_t> base_by_name_;       // lower-cased alias and upstream id
  std::string default_alias_;
  std::vector<std::pair<std::string, std::string>> renames_;
  std::unordered_map<std::string, std::string> rename_targets_;  // lower-cased name → target
};

}  // namespace zaiproxy
