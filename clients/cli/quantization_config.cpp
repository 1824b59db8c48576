#include "clients/cli/quantization_config.h"

#include <fnmatch.h>

#include <cstdio>
#include <set>

#include "engine/io/safetensors.h"

namespace hs::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::int64_t kBf16Bytes = 2;
constexpr std::int64_t kScaleBytes = 4;  // one fp32 scale per output channel
constexpr std::int64_t kFp8RowBytes = 16;  // HeartCodec loads narrower linears at bf16 (codec_weights.cpp)

std::int64_t bytes_of(const LinearRecord& r) {
  const std::int64_t out = r.shape.at(0), in = r.shape.at(1);
  return r.dtype == DType::F8_E4M3 ? out * in + out * kScaleBytes : out * in * kBf16Bytes;
}

// The linear key a source tensor feeds (mula_weights.h: HeartMuLa stacks q/k/v into qkv_proj and
// w1/w3 into w13, and splits audio_head into audio_head.<i>.weight; HeartCodec keys are the
// source names). Empty when none of `keys` is fed by it.
std::string linear_key_of(const std::string& name, const std::set<std::string>& keys) {
  if (keys.contains(name)) return name;
  const auto replaced = [&](std::string_view from, std::string_view to) -> std::string {
    if (!name.ends_with(from)) return {};
    std::string key = name.substr(0, name.size() - from.size()) + std::string(to);
    return keys.contains(key) ? key : std::string();
  };
  for (std::string_view part : {"attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight"})
    if (std::string key = replaced(part, "attn.qkv_proj.weight"); !key.empty()) return key;
  for (std::string_view part : {"mlp.w1.weight", "mlp.w3.weight"})
    if (std::string key = replaced(part, "mlp.w13.weight"); !key.empty()) return key;
  if (name == "audio_head" && keys.contains("audio_head.0.weight")) return "audio_head.0.weight";
  return {};
}

json::array shape_of(const Shape& shape) {
  json::array out;
  for (std::int64_t d : shape) out.emplace_back(d);
  return out;
}

json::array sources_of(const CacheMetadata& metadata) {
  json::array out;
  for (const auto& [key, value] : metadata) {
    if (!key.starts_with(kFp8CacheSourcePrefix)) continue;
    long long bytes = 0, mtime_ns = 0;
    std::sscanf(value.c_str(), "bytes=%lld mtime_ns=%lld", &bytes, &mtime_ns);
    out.push_back(json::object{{"file", key.substr(kFp8CacheSourcePrefix.size())},
                               {"bytes", bytes},
                               {"mtime_ns", mtime_ns}});
  }
  return out;
}

json::object model_config(const QuantizedModel& m, const fs::path& root) {
  json::array linears;
  std::set<std::string> keys;
  std::int64_t bf16_bytes = 0, after_bytes = 0, kept = 0;
  for (const LinearRecord& r : m.cache.linears) {
    keys.insert(r.key);
    const bool quantized = r.kept_because.empty();
    const std::int64_t bytes = bytes_of(r);
    const std::int64_t before = r.shape.at(0) * r.shape.at(1) * kBf16Bytes;
    bf16_bytes += before;
    after_bytes += bytes;
    kept += quantized ? 0 : 1;
    json::object entry{{"name", r.key},
                       {"shape", shape_of(r.shape)},
                       {"action", quantized ? "quantized" : "kept"},
                       {"dtype", quantized ? "F8_E4M3" : "BF16"},
                       {"bytes_bf16", before},
                       {"bytes", bytes}};
    if (!quantized) entry["reason"] = r.kept_because;
    linears.push_back(std::move(entry));
  }
  json::array others;
  std::int64_t other_bytes = 0;
  const TensorStore store = TensorStore::open(m.folder);
  for (const std::string& name : store.names()) {
    if (!linear_key_of(name, keys).empty()) continue;
    const Tensor t = store.get(name);  // a view: nothing is read
    other_bytes += static_cast<std::int64_t>(t.bytes());
    const bool narrow_linear = t.rank() == 2 && name.ends_with(".weight") && t.dim(1) % kFp8RowBytes != 0;
    others.push_back(json::object{{"name", name},
                                  {"reason", narrow_linear ? "a linear narrower than 16 inputs: loads at bf16"
                                                           : "not a linear: loads as the model's rules say"},
                                  {"shape", shape_of(t.shape())},
                                  {"dtype", dtype_name(t.dtype())},
                                  {"bytes", static_cast<std::int64_t>(t.bytes())}});
  }
  const auto n = static_cast<std::int64_t>(m.cache.linears.size());
  return json::object{
      {"folder", m.folder.lexically_relative(root).generic_string()},
      {"cache", m.cache.path.lexically_relative(root).generic_string()},
      {"sources", sources_of(m.cache.metadata)},
      {"totals", json::object{{"linears", n},
                              {"quantized", n - kept},
                              {"kept_bf16", kept},
                              {"linear_bytes_bf16", bf16_bytes},
                              {"linear_bytes", after_bytes},
                              {"other_tensor_bytes_stored", other_bytes}}},
      {"linears", std::move(linears)},
      {"other_tensors", std::move(others)},
  };
}

}  // namespace

std::string tool_version() { return "heartstream " HEARTSTREAM_VERSION; }

json::object quantization_config(const std::vector<QuantizedModel>& models, const fs::path& root) {
  json::array keep;
  if (!models.empty())
    for (const std::string& p : fp8_cache_keep_patterns(models.front().cache.metadata)) keep.emplace_back(p);
  json::object per_model;
  for (const QuantizedModel& m : models) per_model[m.name] = model_config(m, root);
  return json::object{
      {"tool", tool_version()},
      {"precision", "fp8"},
      {"format_version", kFp8CacheFormatVersion},
      {"scheme", kFp8CacheScheme},
      {"granularity",
       "weights: float8 e4m3 with one fp32 scale per output channel (row) of each linear; activations on the GPU: "
       "bf16 into the decode GEMVs (up to 4 rows), quantized per row for the fp8 tensor-core GEMMs"},
      {"keep_patterns", std::move(keep)},
      {"keep_pattern_syntax", "glob on linear names (fnmatch without flags: * ? [...]; * also matches '.')"},
      {"bytes_note", "bytes_bf16: the linear at bf16 (the unquantized baseline); bytes: as loaded (fp8 values + "
                     "fp32 scales, or bf16 when kept)"},
      {"models", std::move(per_model)},
  };
}

json::object unquantized_config(std::string_view precision) {
  return json::object{{"tool", tool_version()},
                      {"precision", precision},
                      {"scheme", nullptr},
                      {"note", "weights converted from the checkpoint at load; nothing quantized"}};
}

std::vector<std::string> unmatched_keep_patterns(const std::vector<QuantizedModel>& models) {
  std::vector<std::string> unmatched;
  if (models.empty()) return unmatched;
  for (const std::string& pattern : fp8_cache_keep_patterns(models.front().cache.metadata)) {
    bool matched = false;  // as Fp8CachedLinears matches
    for (const QuantizedModel& m : models)
      for (const LinearRecord& r : m.cache.linears)
        matched = matched || ::fnmatch(pattern.c_str(), r.key.c_str(), 0) == 0;
    if (!matched) unmatched.push_back(pattern);
  }
  return unmatched;
}

}  // namespace hs::cli
