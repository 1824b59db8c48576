// quantization_config.json: what an fp8 load of a checkpoint did to its weights, from the load
// reports (WeightCacheReport, fp8_cached_linears.h). Written by `heartstream quantize` (next to the
// caches) and `heartstream benchmark`. It holds nothing of the run itself (no times, no date), so
// the same checkpoint and keep patterns give the same bytes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "engine/model/common/fp8_cached_linears.h"

namespace hs::cli {

// One model of the checkpoint as an fp8 load saw it.
struct QuantizedModel {
  std::string name;                // "language_model" | "codec"
  std::filesystem::path folder;    // HeartMuLa-oss-<version>/ or HeartCodec-oss/
  WeightCacheReport cache;         // the load's report (its linears, keep patterns and sources)
};

// The program's name and version, as `heartstream --version-info` prints it.
std::string tool_version();

// The config of an fp8 load of `models`; paths are named relative to `root` (the checkpoint).
boost::json::object quantization_config(const std::vector<QuantizedModel>& models, const std::filesystem::path& root);

// The config of a run whose weights were not quantized (fp32 / bf16 loads).
boost::json::object unquantized_config(std::string_view precision);

// The keep patterns of `models` that matched no linear of any of them.
std::vector<std::string> unmatched_keep_patterns(const std::vector<QuantizedModel>& models);

}  // namespace hs::cli
