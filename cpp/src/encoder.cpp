#include "zaiproxy/encoder.hpp"

#include <array>
#include <random>
#include <utility>

#include "zaiproxy/aggregator.hpp"
#include "zaiproxy/anthropic_encoder.hpp"
#include "zaiproxy/openai_encoder.hpp"

namespace zaiproxy {

namespace {

constexpr size_t kRandomIdLength = 24;

// One generator per thread: no locking on the request path, and ids stay unpredictable because
// each generator is seeded from the OS entropy source.
std::mt19937_64& id_generator() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device entropy;
    std::array<std::random_device::result_type, 8> seed_words{};
    for (auto& word : seed_words) word = entropy();
    std::seed_seq seed(seed_words.begin(), seed_words.end());
    return std::mt19937_64(seed);
  }();
  return generator;
}

}  // namespace

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "openai-sse") return OutputFormat::OpenAiSse;
  if (name == "openai-json") return OutputFormat::OpenAiJson;
  if (name == "anthropic-sse") return OutputFormat::AnthropicSse;
  if (name == "anthropic-json") return OutputFormat::AnthropicJson;
  return std::nullopt;
}

std::string random_id(std::string_view prefix) {
  static constexpr std::string_view kBase62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::uniform_int_distribution<size_t> pick(0, kBase62.size() - 1);
  std::string id(prefix);
  id.reserve(prefix.size() + kRandomIdLength);
  std::mt19937_64& generator = id_generator();
  for (size_t i = 0; i < kRandomIdLength; ++i) id += kBase62[pick(generator)];
  return id;
}

std::unique_ptr<ResponseEncoder> make_encoder(OutputFormat format, ResponseInfo info) {
  switch (format) {
    case OutputFormat::OpenAiSse:
      return std::make_unique<OpenAiEncoder>(std::move(info));
    case OutputFormat::OpenAiJson:
      return std::make_unique<Aggregator>(std::move(info), Dialect::OpenAi);
    case OutputFormat::AnthropicSse:
      return std::make_unique<AnthropicEncoder>(std::move(info));
    case OutputFormat::AnthropicJson:
      return std::make_unique<Aggregator>(std::move(info), Dialect::Anthropic);
  }
  return std::make_unique<OpenAiEncoder>(std::move(info));
}

}  // namespace zaiproxy
