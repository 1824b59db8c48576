// CpuBackend attention: grouped-query scaled dot-product attention, causal over a KV cache (with
// positions) or over all keys (without). One task per (batch, query, head).
#include <cmath>
#include <cstring>

#include "engine/core/fp8_quantize.h"
#include "engine/core/parallel.h"
#include "engine/cpu/cpu_attention.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {
constexpr std::int64_t kTaskGrain = 4;
}  // namespace

namespace cpu {

AttentionScratch::AttentionScratch(std::int64_t keys, std::int64_t head_dim)
    : scores(static_cast<std::size_t>(keys)),
      acc(static_cast<std::size_t>(head_dim)),
      key(static_cast<std::size_t>(head_dim)),
      value(static_cast<std::size_t>(head_dim)) {}

void check_kv(const ScaledTensor& k, const ScaledTensor& v, std::string_view op, std::string_view what) {
  const std::string k_name = std::string(what) + " keys", v_name = std::string(what) + " values";
  if (!k.fp8()) {
    check_tensor(k.data, DType::F32, op, k_name);
    check_tensor(v.data, DType::F32, op, v_name);
    return;
  }
  check_tensor(v.data, DType::F8_E4M3, op, v_name);
  check_tensor(k.scale, DType::F32, op, k_name + " scale");
  check_tensor(v.scale, DType::F32, op, v_name + " scale");
  Shape scale_shape = k.data.shape();
  check_that(!scale_shape.empty(), op, k_name + " must have a head_dim dimension");
  scale_shape.pop_back();
  check_shape(k.scale, scale_shape, op, k_name + " scale");
  check_shape(v.scale, scale_shape, op, v_name + " scale");
}

void store_kv(const ScaledTensor& cache, std::int64_t at, const float* src, std::int64_t kv_heads, std::int64_t head_dim) {
  if (!cache.fp8()) {
    std::memcpy(cache.data.data<float>() + at * kv_heads * head_dim, src,
                static_cast<std::size_t>(kv_heads * head_dim) * sizeof(float));
    return;
  }
  for (std::int64_t h = 0; h < kv_heads; ++h) {
    const float* x = src + h * head_dim;
    float amax = 0.0f;
    for (std::int64_t d = 0; d < head_dim; ++d) amax = std::max(amax, std::fabs(x[d]));
    const float scale = amax > 0.0f ? amax / kE4m3MaxFinite : 1.0f;
    cache.scale.data<float>()[at * kv_heads + h] = scale;
    std::uint8_t* out = cache.data.data<std::uint8_t>() + (at * kv_heads + h) * head_dim;
    for (std::int64_t d = 0; d < head_dim; ++d) out[d] = f32_to_e4m3(x[d] / scale);
  }
}

const float* load_kv(const ScaledTensor& cache, std::int64_t at, std::int64_t kv_heads, std::int64_t head,
                     std::int64_t head_dim, float* buffer) {
  const std::int64_t row = at * kv_heads + head;
  if (!cache.fp8()) return cache.data.data<float>() + row * head_dim;
  const float scale = cache.scale.data<float>()[row];
  const std::uint8_t* in = cache.data.data<std::uint8_t>() + row * head_dim;
  for (std::int64_t d = 0; d < head_dim; ++d) buffer[d] = e4m3_to_f32(in[d]) * scale;
  return buffer;
}

}  // namespace cpu

void CpuBackend::attention(const Tensor& q, const ScaledTensor& k, const ScaledTensor& v, const Tensor* positions,
                           Tensor& out) {
  using namespace cpu;
  constexpr std::string_view op = "attention";
  check_tensor(q, DType::F32, op, "q");
  check_kv(k, v, op, "the cache's");
  check_tensor(out, DType::F32, op, "out");
  check_rank(q, 4, op, "q");
  check_rank(k.data, 4, op, "k");
  const std::int64_t batch = q.dim(0), seq = q.dim(1), heads = q.dim(2), head_dim = q.dim(3);
  const std::int64_t keys = k.data.dim(1), kv_heads = k.data.dim(2);
  check_shape(k.data, {batch, keys, kv_heads, head_dim}, op, "k");
  check_shape(v.data, k.data.shape(), op, "v");
  check_shape(out, q.shape(), op, "out");
  check_that(kv_heads > 0 && heads % kv_heads == 0, op,
             std::to_string(heads) + " query heads are not a multiple of " + std::to_string(kv_heads) + " kv heads");
  const std::int32_t* pos = nullptr;
  if (positions) {
    check_tensor(*positions, DType::I32, op, "positions");
    check_shape(*positions, {seq}, op, "positions");
    pos = positions->data<std::int32_t>();
    for (std::int64_t s = 0; s < seq; ++s)
      check_that(pos[s] >= 0 && pos[s] < keys, op,
                 "position " + std::to_string(pos[s]) + " outside the " + std::to_string(keys) + " keys");
  }
  const std::int64_t group = heads / kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const float* qs = q.data<float>();
  float* os = out.data<float>();
  parallel_for(batch * seq * heads, kTaskGrain, [&](std::int64_t begin, std::int64_t end) {
    AttentionScratch scratch(keys, head_dim);
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t h = task % heads, s = task / heads % seq, b = task / heads / seq;
      const std::int64_t kvh = h / group;
      const auto row = [&](const ScaledTensor& cache, std::int64_t t, std::vector<float>& buffer) {
        return load_kv(cache, b * keys + t, kv_heads, kvh, head_dim, buffer.data());
      };
      attend_one(qs + task * head_dim, pos ? pos[s] + 1 : keys, [&](std::int64_t t) { return row(k, t, scratch.key); },
                 [&](std::int64_t t) { return row(v, t, scratch.value); }, head_dim, scale, scratch,
                 os + task * head_dim);
    }
  });
}

}  // namespace hs
