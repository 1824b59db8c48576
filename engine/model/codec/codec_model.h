// HeartCodec: code frames → 48 kHz stereo (REFERENCE.md "The codec"). An immutable model holding
// the weights on one backend, converted once at load; per-stream state (noise, decoder carries)
// lives with the caller (NoiseSource, ScalarDecoderStream), so one model serves many sessions.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_weights.h"
#include "engine/model/common/fp8_cached_linears.h"
#include "engine/model/common/linear_loader.h"
#include "engine/model/codec/flow_matching.h"
#include "engine/model/codec/scalar_decoder.h"

namespace hs {

struct CodecLoadOptions {
  // Precision::FP8 loads use the fp8 weight cache, kFp8CacheFileName inside the folder
  // (engine/io/fp8_weight_cache.h): the first load quantizes the linears and writes it, later ones
  // map it. HEARTSTREAM_WEIGHT_CACHE=0 in the environment switches it off as well.
  bool weight_cache = true;
  // Glob patterns of linears that stay bf16 in an fp8 load (Fp8CachedLinears); nullopt: those the
  // folder's cache was built with (`heartstream quantize --keep`), none without a cache.
  std::optional<std::vector<std::string>> keep_bf16 = std::nullopt;
};

// What one CodecModel::load did (callers print the cache outcome from it).
struct CodecLoadReport {
  double load_s = 0;        // the whole load: config, source, weights, upload, cache write
  WeightCacheReport cache;  // outcome Off unless an fp8 load with the cache on
};

class CodecModel {
 public:
  // Builds the model from named host tensors (a checkpoint's, or built in memory).
  CodecModel(Backend& backend, const NamedTensors& tensors, const CodecConfig& config,
             Precision precision = Precision::F32);
  // The same with the linears made by `linears` (which yield weights of `precision`).
  CodecModel(Backend& backend, const NamedTensors& tensors, const CodecConfig& config, Precision precision,
             LinearLoader& linears);
  // Loads a HeartCodec checkpoint folder (config.json + safetensors); at FP8 through the weight
  // cache unless `options` or the environment switch it off. `report`, when given, receives what
  // the load did.
  static CodecModel load(Backend& backend, const std::filesystem::path& folder, Precision precision = Precision::F32,
                         const CodecLoadOptions& options = {}, CodecLoadReport* report = nullptr);

  Backend& backend() const { return *backend_; }
  const CodecConfig& config() const { return config_; }
  const FlowMatcher& flow() const { return flow_; }
  const ScalarDecoder& decoder() const { return decoder_; }
  // Audio samples per code frame (80 ms at 48 kHz: 3840).
  std::int64_t samples_per_code_frame() const;

 private:
  CodecModel(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config);

  Backend* backend_;
  CodecConfig config_;
  FlowMatcher flow_;
  ScalarDecoder decoder_;
};

}  // namespace hs
