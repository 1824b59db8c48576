// Fp8 or 4-bit linears through their weight cache (engine/io/fp8_weight_cache.h): each linear comes
// from a valid cache as it is (Backend::load_quantized_linear / load_q4_linear, no quantization, the
// source untouched), or is quantized from the source (quantize_e4m3_rows / quantize_q4) when the
// cache is absent, stale, unreadable or lacks it; finish() then writes the cache anew. A 4-bit
// linear whose rows are not whole blocks of 64 loads at bf16 (Backend::load_linear) and is not in
// the cache. A cache that cannot be written costs one warning
// line on stderr and nothing else: the model loads the same either way, and a model loaded from
// the cache holds bit for bit the weights of one quantized fresh. Both models load through it:
// HeartMuLa (MulaModel::load) and HeartCodec (CodecModel::load), each with a cache in its folder.
//
// Kept linears: a linear whose key matches a keep pattern (a glob, fnmatch(3) without flags: `*`
// also crosses dots) loads at bf16 from the source and is not in the cache. The patterns are part of the cache's metadata, so a
// cache built with other patterns is stale. A load that names no patterns (std::nullopt) takes
// those of the cache already there (`heartstream quantize --keep` chose them), and none without one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/io/fp8_weight_cache.h"
#include "engine/model/common/linear_loader.h"

namespace hs {

// Setting this environment variable to "0" switches the fp8 weight cache off for every model.
inline constexpr std::string_view kWeightCacheEnvVar = "HEARTSTREAM_WEIGHT_CACHE";

// False when the environment switches the cache off (kWeightCacheEnvVar=0).
bool weight_cache_allowed_by_environment();

enum class WeightCacheOutcome : std::uint8_t {
  Off,         // not an fp8 load of a checkpoint folder, or the cache is switched off
  Hit,         // every linear came from the cache
  Written,     // linears were quantized from the source and the cache (re)written
  NotWritten,  // linears were quantized from the source; the cache could not be written
};

// One linear of a quantized load: quantized (dtype F8_E4M3, or U8 for 4-bit codes; kept_because
// empty) or kept at bf16.
struct LinearRecord {
  std::string key;
  Shape shape;                // [out, in]
  DType dtype;                // F8_E4M3 | U8 | BF16
  std::string kept_because;   // "--keep '<pattern>'", or why a 4-bit load keeps it
};

// What the cache did during one load, and where the time went.
struct WeightCacheReport {
  WeightCacheOutcome outcome = WeightCacheOutcome::Off;
  std::filesystem::path path;      // the cache file
  std::string reason;              // why the cache was not used ("absent", "stale: …", "unreadable: …")
  std::string write_error;         // why it could not be written (NotWritten)
  std::int64_t linears_from_cache = 0;
  std::int64_t linears_quantized = 0;
  std::uint64_t file_bytes = 0;    // size of the cache file after the load; 0 when there is none
  CacheMetadata metadata;          // what the cache is (or would be) keyed by: sources, keep patterns
  std::vector<LinearRecord> linears;  // every linear, in load order
  double quantize_s = 0;           // reading, stacking and quantizing source linears
  double write_s = 0;              // writing the cache
};

class Fp8CachedLinears final : public LinearLoader {
 public:
  // Opens the cache at `path` if its metadata equals fp8_cache_metadata(dir, sources, keep patterns,
  // q4), the patterns being `keep_bf16` or, when nullopt, those of the cache at `path`; `q4`: the
  // 4-bit format of the linears, nullopt for fp8. InvalidArgument for an empty pattern or one
  // holding a line break.
  Fp8CachedLinears(Backend& backend, std::filesystem::path path, const std::vector<std::filesystem::path>& sources,
                   const std::optional<std::vector<std::string>>& keep_bf16 = std::nullopt,
                   std::optional<Q4Format> q4 = std::nullopt);

  Weight load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
              const Tensor* bias) override;
  Precision precision() const override;

  // After the last load: writes the cache when a linear had to be quantized (one warning line on
  // stderr when that fails, or when an unreadable cache was found), and reports.
  WeightCacheReport finish();

 private:
  // The --keep reason when `key` stays bf16; empty when it is quantized.
  std::string kept_because(const std::string& key) const;

  Backend& backend_;
  std::optional<Q4Format> q4_;
  std::vector<std::string> keep_;
  CacheMetadata metadata_;
  std::optional<Fp8WeightCache> cache_;
  bool writable_;  // the folder accepts a new file: keep every linear for finish()
  std::vector<std::pair<std::string, QuantizedWeight>> entries_;
  WeightCacheReport report_;
};

}  // namespace hs
