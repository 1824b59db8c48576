#include "engine/model/common/fp8_cached_linears.h"

#include <fnmatch.h>
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

Fp8CachedLinears::Fp8CachedLinears(Backend& backend, fs::path path, const std::vector<fs::path>& sources,
                                   const std::optional<std::vector<std::string>>& keep_bf16, std::optional<Q4Format> q4)
    : backend_(backend), q4_(q4) {
  report_.path = std::move(path);
  if (keep_bf16) {
    keep_ = *keep_bf16;
  } else if (const auto existing = read_fp8_cache_metadata(report_.path)) {
    keep_ = fp8_cache_keep_patterns(*existing);
  }
  for (const std::string& pattern : keep_)
    if (pattern.empty() || pattern.find_first_of("\r\n") != std::string::npos)
      throw InvalidArgument("fp8 keep pattern '" + pattern + "': empty or holds a line break");
  const fs::path dir = report_.path.has_parent_path() ? report_.path.parent_path() : fs::path(".");
  metadata_ = fp8_cache_metadata(dir, sources, keep_, q4_);
  report_.metadata = metadata_;
  cache_ = Fp8WeightCache::open(report_.path, metadata_, report_.reason, q4_);
  writable_ = ::access(dir.c_str(), W_OK) == 0;
  if (!writable_) report_.write_error = "folder '" + dir.string() + "' is not writable";
}

std::string Fp8CachedLinears::kept_because(const std::string& key) const {
  for (const std::string& pattern : keep_)
    if (::fnmatch(pattern.c_str(), key.c_str(), 0) == 0) return "--keep '" + pattern + "'";
  return {};
}

Precision Fp8CachedLinears::precision() const {
  return !q4_ ? Precision::FP8 : *q4_ == Q4Format::NF4 ? Precision::NF4 : Precision::INT4;
}

Weight Fp8CachedLinears::load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
                              const Tensor* bias) {
  std::string why = kept_because(key);
  if (why.empty() && q4_ && shape[1] % kQ4Block != 0) why = "in_features not a multiple of " + std::to_string(kQ4Block);
  if (!why.empty()) {
    report_.linears.push_back({key, shape, DType::BF16, std::move(why)});
    return backend_.load_linear(weight(), bias, Precision::BF16);
  }
  report_.linears.push_back({key, shape, q4_ ? DType::U8 : DType::F8_E4M3, {}});
  std::optional<QuantizedWeight> q = cache_ ? cache_->find(key, shape) : std::nullopt;
  if (q) {
    ++report_.linears_from_cache;
  } else {
    if (cache_ && report_.reason.empty()) report_.reason = "incomplete: no valid entry '" + key + "'";
    const auto start = std::chrono::steady_clock::now();
    if (q4_) {
      Q4Weight codes = quantize_q4(weight(), *q4_);
      q = QuantizedWeight{std::move(codes.codes), std::move(codes.scales)};
    } else {
      q = quantize_e4m3_rows(weight());
    }
    report_.quantize_s += seconds_since(start);
    ++report_.linears_quantized;
  }
  if (writable_) entries_.emplace_back(key, *q);
  if (q4_) return backend_.load_q4_linear({q->values, q->scales}, *q4_, bias);
  return backend_.load_quantized_linear(q->values, q->scales, bias);
}

WeightCacheReport Fp8CachedLinears::finish() {
  WeightCacheReport& r = report_;
  if (r.linears_quantized == 0 && cache_) {
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
    std::string line = "heartstream: warning: " + std::string(q4_ ? "4-bit" : "fp8") + " weight cache '" +
                       r.path.string() + "': ";
    if (unreadable) line += r.reason + (r.outcome == WeightCacheOutcome::Written ? "; rebuilt" : "");
    if (r.outcome == WeightCacheOutcome::NotWritten)
      line += (unreadable ? "; " : "") + std::string("not written (") + r.write_error +
              "); the model loads without a cache";
    std::cerr << line << std::endl;
  }
  return r;
}

}  // namespace hs
