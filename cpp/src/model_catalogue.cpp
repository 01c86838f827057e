#include "zaiproxy/model_catalogue.hpp"

#include <algorithm>

#include "ascii.hpp"

namespace zaiproxy {

ModelCatalogue::ModelCatalogue(std::vector<ResolvedModel> bases, std::vector<ModelVariant> variants,
                               std::vector<std::vector<std::string>> advertised_variants,
                               std::string default_alias)
    : bases_(std::move(bases)),
      variants_(std::move(variants)),
      advertised_variants_(std::move(advertised_variants)),
      default_alias_(std::move(default_alias)) {
  // Aliases first, so an alias wins over another model's upstream id of the same spelling.
  for (size_t i = 0; i < bases_.size(); ++i)
    base_by_name_.emplace(ascii::lower(bases_[i].alias), i);
  for (size_t i = 0; i < bases_.size(); ++i) {
    base_by_name_.emplace(ascii::lower(bases_[i].upstream_id), i);
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
  return models;
}

}  // namespace zaiproxy
