#include "engine/model/codec/codec_model.h"

#include <chrono>
#include <optional>

#include "engine/io/fp8_weight_cache.h"
#include "engine/io/safetensors.h"

namespace hs {
namespace {
constexpr std::int64_t kLatentFramesPerCodeFrame = 2;  // 12.5 Hz codes → 25 Hz latents
}  // namespace

CodecModel::CodecModel(Backend& backend, const NamedTensors& tensors, const CodecConfig& config,
                       Precision precision)
    : CodecModel(backend, CodecWeightLoader(backend, tensors, precision), config) {}

CodecModel::CodecModel(Backend& backend, const NamedTensors& tensors, const CodecConfig& config, Precision precision,
                       LinearLoader& linears)
    : CodecModel(backend, CodecWeightLoader(backend, tensors, precision, &linears), config) {}

CodecModel::CodecModel(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config)
    : backend_(&backend), config_(config), flow_(backend, weights, config), decoder_(backend, weights, config) {}

CodecModel CodecModel::load(Backend& backend, const std::filesystem::path& folder, Precision precision,
                            const CodecLoadOptions& options, CodecLoadReport* report) {
  const auto start = std::chrono::steady_clock::now();
  const CodecConfig config = read_codec_config(folder / "config.json");
  const TensorStore store = TensorStore::open(folder);
  std::optional<Fp8CachedLinears> cached;
  if (precision == Precision::FP8 && options.weight_cache && weight_cache_allowed_by_environment())
    cached.emplace(backend, folder / kFp8CacheFileName, store.files(), options.keep_bf16);
  CodecModel model(backend, CodecWeightLoader(backend, named_tensors(store), precision, cached ? &*cached : nullptr),
                   config);
  WeightCacheReport cache = cached ? cached->finish() : WeightCacheReport{};
  if (report) {
    report->cache = std::move(cache);
    report->load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return model;
}

std::int64_t CodecModel::samples_per_code_frame() const {
  return decoder_.samples_per_frame() * kLatentFramesPerCodeFrame;
}

}  // namespace hs
