#include "engine/model/common/fp8_cached_linears.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "engine/core/error.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

bool weight_cache_allowed_by_environment() {
  const char* env = std::getenv(kWeightCacheEnvVar.data());
  return !(env && std::string(env) == "0");
}

Fp8CachedLinears::Fp8CachedLinears(Backend& backend, fs::path path, CacheMetadata metadata)
    : backend_(backend), metadata_(std::move(metadata)) {
  report_.path = std::move(path);
  cache_ = Fp8WeightCache::open(report_.path, metadata_, report_.reason);
  const fs::path dir = report_.path.has_parent_path() ? report_.path.parent_path() : fs::path(".");
  writable_ = ::access(dir.c_str(), W_OK) == 0;
  if (!writable_) report_.write_error = "folder '" + dir.string() + "' is not writable";
}

Weight Fp8CachedLinears::load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
                              const Tensor* bias) {
  std::optional<QuantizedWeight> q = cache_ ? cache_->find(key, shape) : std::nullopt;
  if (q) {
    ++report_.linears_from_cache;
  } else {
    if (cache_ && report_.reason.empty()) report_.reason = "incomplete: no valid entry '" + key + "'";
    const auto start = std::chrono::steady_clock::now();
    q = quantize_e4m3_rows(weight());
    report_.quantize_s += seconds_since(start);
    ++report_.linears_quantized;
  }
  if (writable_) entries_.emplace_back(key, *q);
  return backend_.load_quantized_linear(q->values, q->scales, bias);
}

WeightCacheReport Fp8CachedLinears::finish() {
  WeightCacheReport& r = report_;
  if (r.linears_quantized == 0) {
    r.outcome = WeightCacheOutcome::Hit;
    r.write_error.clear();
  } else if (writable_) {
    const auto start = std::chrono::steady_clock::now();
    try {
      write_fp8_cache(r.path, metadata_, entries_);
      r.outcome = WeightCacheOutcome::Written;
    } catch (const Error& e) {
      r.outcome = WeightCacheOutcome::NotWritten;
      r.write_error = e.what();
    }
    r.write_s = seconds_since(start);
  } else {
    r.outcome = WeightCacheOutcome::NotWritten;
  }
  entries_.clear();
  cache_.reset();  // unmaps the old file
  std::error_code ec;
  const auto bytes = fs::file_size(r.path, ec);
  r.file_bytes = ec || r.outcome == WeightCacheOutcome::NotWritten ? 0 : bytes;

  const bool unreadable = r.reason.starts_with("unreadable");
  if (r.outcome == WeightCacheOutcome::NotWritten || unreadable) {
    std::string line = "heartstream: warning: fp8 weight cache '" + r.path.string() + "': ";
    if (unreadable) line += r.reason + (r.outcome == WeightCacheOutcome::Written ? "; rebuilt" : "");
    if (r.outcome == WeightCacheOutcome::NotWritten)
      line += (unreadable ? "; " : "") + std::string("not written (") + r.write_error +
              "); the model loads without a cache";
    std::cerr << line << std::endl;
  }
  return r;
}

}  // namespace hs
