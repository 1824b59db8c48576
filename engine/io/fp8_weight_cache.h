// The weight caches: one safetensors file in a checkpoint folder holding its linear weights
// already quantized, so that a later load at that precision maps them instead of reading and
// quantizing the bf16 or fp32 source. One file per quantized format: fp8 (quantize_e4m3_rows,
// engine/core/fp8_quantize.h; kFp8CacheFileName) and NF4 / INT4 (quantize_q4,
// engine/core/q4_quantize.h; heartstream-nf4-cache.safetensors, heartstream-int4-cache.safetensors).
// Layout:
//   <key>          fp8: F8_E4M3 [out, in] values; 4-bit: U8 [out, in / 2] codes
//   <key>.scales   fp8: F32 [out] per-output-channel scales; 4-bit: F32 [out, in / 64] block scales
//   __metadata__   "heartstream_fp8_cache": kFp8CacheFormatVersion,
//                  "quantization": the scheme (kFp8CacheScheme, or the 4-bit table's),
//                  "source:<file>": "bytes=<size> mtime_ns=<mtime>" for every source safetensors file
//                  (named relative to the checkpoint folder),
//                  "keep_bf16": the --keep glob patterns, one a line, when there are any (linears
//                  whose key matches one load at bf16 and are not in the file).
// Keys are the model's names for its linears (HeartMuLa: engine/model/lm/mula_weights.cpp; HeartCodec:
// each linear's weight tensor, engine/model/codec/codec_weights.cpp). A cache whose metadata differs
// from what the sources give now (a source rewritten, resized or touched, a shard added or removed,
// another format version) is stale; one that does not parse is unreadable; either is rebuilt by the
// loader. Bytes changed inside the data section without a change of size or mtime are not detected
// (the file is mapped, not hashed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/fp8_quantize.h"
#include "engine/core/q4_quantize.h"
#include "engine/io/safetensors.h"

namespace hs {

inline constexpr std::string_view kFp8CacheFileName = "heartstream-fp8-cache.safetensors";
// Bump when the file layout or the quantization rule changes: older caches then read as stale.
inline constexpr std::string_view kFp8CacheFormatVersion = "1";
inline constexpr std::string_view kFp8CacheScheme = "e4m3-per-output-channel";
inline constexpr std::string_view kFp8CacheScalesSuffix = ".scales";
inline constexpr std::string_view kFp8CacheKeepKey = "keep_bf16";
inline constexpr std::string_view kFp8CacheSourcePrefix = "source:";

using CacheMetadata = std::map<std::string, std::string>;

// The cache file of a load at fp8 (nullopt) or at a 4-bit format.
std::string weight_cache_file_name(std::optional<Q4Format> q4 = std::nullopt);
// True for the name of any weight cache file (never a checkpoint's source).
bool is_weight_cache_file(const std::filesystem::path& file);

// The metadata of a cache of fp8 (nullopt) or 4-bit `q4` linears built from `sources` (files inside
// `dir`) keeping the linears that match one of `keep_bf16` (glob patterns) in bf16. FormatError
// naming the file when one cannot be stat'ed.
CacheMetadata fp8_cache_metadata(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& sources,
                                 const std::vector<std::string>& keep_bf16 = {},
                                 std::optional<Q4Format> q4 = std::nullopt);

// The keep patterns recorded in a cache's metadata (none when it has no kFp8CacheKeepKey).
std::vector<std::string> fp8_cache_keep_patterns(const CacheMetadata& metadata);

// The metadata of the cache file at `path`; nullopt when it is absent or does not parse.
std::optional<CacheMetadata> read_fp8_cache_metadata(const std::filesystem::path& path);

class Fp8WeightCache {
 public:
  // The cache of fp8 (nullopt) or 4-bit `q4` linears at `path` when it exists, parses and carries
  // exactly the metadata `expected`; otherwise nullopt, with `why_not` saying why ("absent",
  // "stale: ...", "unreadable: ..."). Never throws for the file's content.
  static std::optional<Fp8WeightCache> open(const std::filesystem::path& path, const CacheMetadata& expected,
                                            std::string& why_not, std::optional<Q4Format> q4 = std::nullopt);

  // The entry `key` of a linear of `shape` ([out, in]) as views into the mapping (4-bit: codes and
  // block scales in QuantizedWeight's values and scales), when its tensors have the dtypes and
  // shapes of the cache's format; nullopt when it is absent or has another dtype or shape.
  std::optional<QuantizedWeight> find(const std::string& key, const Shape& shape) const;

 private:
  Fp8WeightCache(SafetensorsFile file, std::optional<Q4Format> q4) : file_(std::move(file)), q4_(q4) {}
  SafetensorsFile file_;
  std::optional<Q4Format> q4_;
};

// Writes a cache of `entries` (in order) to `path` atomically (a temporary file, then a rename).
// Error naming the path when it cannot be written.
void write_fp8_cache(const std::filesystem::path& path, const CacheMetadata& metadata,
                     const std::vector<std::pair<std::string, QuantizedWeight>>& entries);

}  // namespace hs
