#include "engine/io/fp8_weight_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/core/error.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kVersionKey = "heartstream_fp8_cache";
constexpr std::string_view kSchemeKey = "quantization";
constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;

std::string file_identity(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw FormatError("fp8 weight cache: cannot stat source '" + file.string() + "' (" + std::strerror(errno) + ")");
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * kNanosecondsPerSecond + st.st_mtim.tv_nsec;
  return "bytes=" + std::to_string(st.st_size) + " mtime_ns=" + std::to_string(mtime_ns);
}

// The first difference between a cache's metadata and the expected one, for the log line.
std::string metadata_difference(const CacheMetadata& found, const CacheMetadata& expected) {
  for (const auto& [key, value] : expected) {
    const auto it = found.find(key);
    if (it == found.end()) return "'" + key + "' missing (expected '" + value + "')";
    if (it->second != value) return "'" + key + "' is '" + it->second + "', expected '" + value + "'";
  }
  for (const auto& [key, value] : found)
    if (!expected.contains(key)) return "unexpected '" + key + "' ('" + value + "')";
  return "metadata differs";
}

constexpr std::string_view kCachePrefix = "heartstream-", kCacheSuffix = "-cache.safetensors";

std::string scheme(std::optional<Q4Format> q4) {
  if (!q4) return std::string(kFp8CacheScheme);
  return *q4 == Q4Format::NF4 ? "nf4-bf16-table-absmax-block-64" : "int4-symmetric-absmax-block-64";
}

}  // namespace

std::string weight_cache_file_name(std::optional<Q4Format> q4) {
  if (!q4) return std::string(kFp8CacheFileName);
  return std::string(kCachePrefix) + (*q4 == Q4Format::NF4 ? "nf4" : "int4") + std::string(kCacheSuffix);
}

bool is_weight_cache_file(const fs::path& file) {
  const std::string name = file.filename().string();
  return name.starts_with(kCachePrefix) && name.ends_with(kCacheSuffix);
}

CacheMetadata fp8_cache_metadata(const fs::path& dir, const std::vector<fs::path>& sources,
                                 const std::vector<std::string>& keep_bf16, std::optional<Q4Format> q4) {
  CacheMetadata metadata{{std::string(kVersionKey), std::string(kFp8CacheFormatVersion)},
                         {std::string(kSchemeKey), scheme(q4)}};
  for (const fs::path& source : sources)
    metadata[std::string(kFp8CacheSourcePrefix) + source.lexically_relative(dir).generic_string()] = file_identity(source);
  if (!keep_bf16.empty()) {
    std::string lines;
    for (const std::string& pattern : keep_bf16) lines += (lines.empty() ? "" : "\n") + pattern;
    metadata[std::string(kFp8CacheKeepKey)] = lines;
  }
  return metadata;
}

std::vector<std::string> fp8_cache_keep_patterns(const CacheMetadata& metadata) {
  std::vector<std::string> patterns;
  const auto it = metadata.find(std::string(kFp8CacheKeepKey));
  if (it == metadata.end()) return patterns;
  std::size_t begin = 0;
  while (begin <= it->second.size()) {
    const std::size_t end = std::min(it->second.find('\n', begin), it->second.size());
    patterns.push_back(it->second.substr(begin, end - begin));
    begin = end + 1;
  }
  return patterns;
}

std::optional<CacheMetadata> read_fp8_cache_metadata(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return std::nullopt;
  try {
    return SafetensorsFile::open(path).metadata();
  } catch (const Error&) {  // FormatError for every malformed file
    return std::nullopt;
  }
}

std::optional<Fp8WeightCache> Fp8WeightCache::open(const fs::path& path, const CacheMetadata& expected,
                                                   std::string& why_not, std::optional<Q4Format> q4) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    why_not = "absent";
    return std::nullopt;
  }
  try {
    SafetensorsFile file = SafetensorsFile::open(path);
    if (file.metadata() != expected) {
      why_not = "stale: " + metadata_difference(file.metadata(), expected);
      return std::nullopt;
    }
    return Fp8WeightCache(std::move(file), q4);
  } catch (const Error& e) {  // FormatError for every malformed file
    why_not = std::string("unreadable: ") + e.what();
    return std::nullopt;
  }
}

std::optional<QuantizedWeight> Fp8WeightCache::find(const std::string& key, const Shape& shape) const {
  const std::string scales_key = key + std::string(kFp8CacheScalesSuffix);
  if (shape.size() != 2 || !file_.contains(key) || !file_.contains(scales_key)) return std::nullopt;
  const TensorInfo& values = file_.info(key);
  const TensorInfo& scales = file_.info(scales_key);
  const bool fits = q4_ ? values.dtype == DType::U8 && values.shape == Shape{shape[0], shape[1] / 2} &&
                              scales.shape == Shape{shape[0], shape[1] / kQ4Block}
                        : values.dtype == DType::F8_E4M3 && values.shape == shape && scales.shape == Shape{shape[0]};
  if (!fits || scales.dtype != DType::F32) return std::nullopt;
  return QuantizedWeight{file_.get(key), file_.get(scales_key)};
}

void write_fp8_cache(const fs::path& path, const CacheMetadata& metadata,
                     const std::vector<std::pair<std::string, QuantizedWeight>>& entries) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  tensors.reserve(2 * entries.size());
  for (const auto& [key, q] : entries) {
    tensors.emplace_back(key, q.values);
    tensors.emplace_back(key + std::string(kFp8CacheScalesSuffix), q.scales);
  }
  write_safetensors(path, tensors, metadata);
}

}  // namespace hs
