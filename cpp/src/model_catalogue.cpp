#include "zaiproxy/model_catalogue.hpp"

#include <algorithm>
#include <stdexcept>

#include "ascii.hpp"

namespace zaiproxy {

ModelCatalogue::ModelCatalogue(std::vector<ResolvedModel> bases, std::vector<ModelVariant> variants,
                               std::vector<std::vector<std::string>> advertised_variants,
                               std::string default_alias,
                               std::vector<std::pair<std::string, std::string>> renames)
    : bases_(std::move(bases)),
      variants_(std::move(variants)),
      advertised_variants_(std::move(advertised_variants)),
      default_alias_(std::move(default_alias)),
      renames_(std::move(renames)) {
  // Aliases first, so an alias wins over another model's upstream id of the same spelling.
  for (size_t i = 0; i < bases_.size(); ++i)
    base_by_name_.emplace(ascii::lower(bases_[i].alias), i);
  for (size_t i = 0; i < bases_.size(); ++i) {
    base_by_name_.emplace(ascii::lower(bases_[i].upstream_id), i);
  }
  for (const auto& [name, target] : renames_) {
    if (!resolve_catalogue_name(ascii::lower(target)).known) {
      throw std::invalid_argument("'" + target + "' is not a model name of the catalogue");
    }
    rename_targets_.emplace(ascii::lower(name), ascii::lower(target));
  }
}

std::optional<ResolvedModel> ModelCatalogue::find_base(std::string_view lowered) const {
  const auto found = base_by_name_.find(std::string(lowered));
  if (found == base_by_name_.end()) return std::nullopt;
  return bases_[found->second];
}

ResolvedModel ModelCatalogue::with_variant(ResolvedModel model, const ModelVariant& variant) const {
  model.alias += variant.suffix;
  if (variant.enable_thinking) model.enable_thinking = *variant.enable_thinking;
  if (variant.web_search) model.web_search = *variant.web_search;
  for (const std::string& server : variant.mcp_servers) {
    if (std::find(model.mcp_servers.begin(), model.mcp_servers.end(), server) ==
        model.mcp_servers.end()) {
      model.mcp_servers.push_back(server);
    }
  }
  return model;
}

ResolvedModel ModelCatalogue::resolve(std::string_view name) const {
  const std::string lowered = ascii::lower(name);
  const auto rename = rename_targets_.find(lowered);
  return resolve_catalogue_name(rename == rename_targets_.end() ? lowered : rename->second);
}

ResolvedModel ModelCatalogue::resolve_catalogue_name(const std::string& lowered) const {
  if (auto base = find_base(lowered)) return *base;
  for (const ModelVariant& variant : variants_) {
    if (!ascii::iends_with(lowered, variant.suffix)) continue;
    if (auto base = find_base(
            std::string_view(lowered).substr(0, lowered.size() - variant.suffix.size()))) {
      return with_variant(std::move(*base), variant);
    }
  }
  ResolvedModel fallback = *find_base(ascii::lower(default_alias_));
  fallback.known = false;
  return fallback;
}

std::vector<ResolvedModel> ModelCatalogue::advertised() const {
  std::vector<ResolvedModel> models;
  for (size_t i = 0; i < bases_.size(); ++i) {
    models.push_back(bases_[i]);
    for (const std::string& suffix : advertised_variants_[i]) {
      const auto variant = std::find_if(variants_.begin(), variants_.end(),
                                        [&](const ModelVariant& v) { return v.suffix == suffix; });
      models.push_back(with_variant(bases_[i], *variant));
    }
  }
  for (const auto& [name, target] : renames_) {
    models.push_back(resolve(target));
    models.back().alias = name;
  }
  return models;
}

}  // namespace zaiproxy
