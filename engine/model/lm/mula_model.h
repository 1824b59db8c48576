// HeartMuLa: the immutable, shareable half of the LM — config, flavors and weights converted onto
// a backend. Per-request state lives in MulaSession. After construction nothing changes, so many
// sessions (on any threads) may use one model.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/common/fp8_cached_linears.h"
#include "engine/model/common/linear_loader.h"
#include "engine/model/lm/mula_weights.h"
#include "engine/model/lm/weight_source.h"

namespace hs {

struct MulaLoadOptions {
  // FP8, NF4 and INT4 loads of a folder use that precision's weight cache inside it
  // (weight_cache_file_name, engine/io/fp8_weight_cache.h): the first load quantizes and writes
  // it, later ones map it.
  // HEARTSTREAM_WEIGHT_CACHE=0 in the environment switches it off as well.
  bool weight_cache = true;
  // Glob patterns of linears that stay bf16 in a quantized load (Fp8CachedLinears); nullopt: those the
  // folder's cache was built with (`heartstream quantize --keep`), none without a cache.
  std::optional<std::vector<std::string>> keep_bf16 = std::nullopt;
};

// What one MulaModel::load did (benchmarks print first and second load times from it).
struct MulaLoadReport {
  double load_s = 0;        // the whole load: config, source, linears, upload, cache write
  WeightCacheReport cache;  // outcome Off unless an fp8 / 4-bit load with the cache on
};

class MulaModel {
 public:
  // Binds and converts every weight from `source` (see load_mula_weights for the checks).
  MulaModel(Backend& backend, MulaConfig config, const WeightSource& source, Precision precision = Precision::F32);
  // The same with explicit stack shapes (benchmarks shorten the backbone to fit small machines).
  MulaModel(Backend& backend, MulaConfig config, const MulaFlavors& flavors, const WeightSource& source,
            Precision precision = Precision::F32);
  // The same with the linears made by `linears` (which yield weights of `precision`).
  MulaModel(Backend& backend, MulaConfig config, const MulaFlavors& flavors, const WeightSource& source,
            Precision precision, LinearLoader& linears);

  // Loads a HeartMuLa-oss-* folder (config.json + safetensors, maybe sharded); at FP8 through the
  // weight cache unless `options` or the environment switch it off. `report`, when given,
  // receives what the load did.
  static std::shared_ptr<const MulaModel> load(Backend& backend, const std::filesystem::path& dir,
                                               Precision precision = Precision::F32,
                                               const MulaLoadOptions& options = {}, MulaLoadReport* report = nullptr);

  Backend& backend() const { return backend_; }
  const MulaConfig& config() const { return config_; }
  const MulaWeights& weights() const { return weights_; }
  Precision precision() const { return precision_; }
  const LlamaFlavor& backbone() const { return weights_.backbone.flavor; }
  const LlamaFlavor& decoder() const { return weights_.decoder.flavor; }
  std::int64_t audio_vocab() const { return config_.audio_vocab_size; }

 private:
  Backend& backend_;
  MulaConfig config_;
  Precision precision_;
  MulaWeights weights_;
};

}  // namespace hs
