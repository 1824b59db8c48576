// CpuBackend attention: grouped-query scaled dot-product attention, causal over a KV cache (with
// positions) or over all keys (without). One task per (batch, query, head).
#include <cmath>

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
    : scores(static_cast<std::size_t>(keys)), acc(static_cast<std::size_t>(head_dim)) {}

}  // namespace cpu

void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* positions,
                           Tensor& out) {
  using namespace cpu;
  constexpr std::string_view op = "attention";
  check_tensor(q, DType::F32, op, "q");
  check_tensor(k, DType::F32, op, "k");
  check_tensor(v, DType::F32, op, "v");
  check_tensor(out, DType::F32, op, "out");
  check_rank(q, 4, op, "q");
  check_rank(k, 4, op, "k");
  const std::int64_t batch = q.dim(0), seq = q.dim(1), heads = q.dim(2), head_dim = q.dim(3);
  const std::int64_t keys = k.dim(1), kv_heads = k.dim(2);
  check_shape(k, {batch, keys, kv_heads, head_dim}, op, "k");
  check_shape(v, k.shape(), op, "v");
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
  const float* ks = k.data<float>();
  const float* vs = v.data<float>();
  float* os = out.data<float>();
  parallel_for(batch * seq * heads, kTaskGrain, [&](std::int64_t begin, std::int64_t end) {
    AttentionScratch scratch(keys, head_dim);
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t h = task % heads, s = task / heads % seq, b = task / heads / seq;
      const std::int64_t kvh = h / group;
      const auto row = [&](const float* base, std::int64_t t) { return base + ((b * keys + t) * kv_heads + kvh) * head_dim; };
      attend_one(qs + task * head_dim, pos ? pos[s] + 1 : keys, [&](std::int64_t t) { return row(ks, t); },
                 [&](std::int64_t t) { return row(vs, t); }, head_dim, scale, scratch, os + task * head_dim);
    }
  });
}

}  // namespace hs
