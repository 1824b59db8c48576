// The CPU backend's attention of one (query, head) over `visible` keys, shared by the dense
// attention (cpu_attention.cpp) and the paged one (cpu_batch_ops.cpp) so that both give the same
// bits: scores in fp32, the softmax-weighted sum of values in fp64. Also the KV cache's reads and
// writes (fp32 or fp8 caches, Backend's ScaledTensor), shared the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "engine/core/backend.h"

namespace hs::cpu {

// Throws unless `cache` is an F32 host cache, or an F8_E4M3 one whose scale is F32 [.., kv_heads]
// (the data's shape without head_dim); v must match k in dtype and shape.
void check_kv(const ScaledTensor& k, const ScaledTensor& v, std::string_view op, std::string_view what);
// Writes the kv_heads vectors of one position, src [kv_heads · head_dim], into cache position
// `at` (an index over the cache's leading dimensions), quantizing for an fp8 cache.
void store_kv(const ScaledTensor& cache, std::int64_t at, const float* src, std::int64_t kv_heads, std::int64_t head_dim);
// Head `head`'s vector at cache position `at`: a pointer into an F32 cache, or `buffer` (head_dim
// floats) holding the dequantized vector of an fp8 one.
const float* load_kv(const ScaledTensor& cache, std::int64_t at, std::int64_t kv_heads, std::int64_t head,
                     std::int64_t head_dim, float* buffer);

struct AttentionScratch {
  AttentionScratch(std::int64_t keys, std::int64_t head_dim);
  std::vector<float> scores;
  std::vector<double> acc;
  std::vector<float> key, value;  // a dequantized fp8 key / value (load_kv)
};

// out[d] = Σ_t softmax_t(q · key(t) · scale) · value(t)[d] over t < visible; key(t) and value(t)
// return the head's [head_dim] vectors of key t. scratch holds at least `visible` scores.
template <typename Key, typename Value>
void attend_one(const float* q, std::int64_t visible, Key key, Value value, std::int64_t head_dim, float scale,
                AttentionScratch& scratch, float* out) {
  float max_score = -std::numeric_limits<float>::infinity();
  for (std::int64_t t = 0; t < visible; ++t) {
    const float* kv = key(t);
    float dot = 0.0f;
    for (std::int64_t d = 0; d < head_dim; ++d) dot += q[d] * kv[d];
    scratch.scores[static_cast<std::size_t>(t)] = dot * scale;
    max_score = std::max(max_score, dot * scale);
  }
  double total = 0.0;
  std::fill(scratch.acc.begin(), scratch.acc.end(), 0.0);
  for (std::int64_t t = 0; t < visible; ++t) {
    const double p = std::exp(static_cast<double>(scratch.scores[static_cast<std::size_t>(t)] - max_score));
    total += p;
    const float* vv = value(t);
    for (std::int64_t d = 0; d < head_dim; ++d) scratch.acc[static_cast<std::size_t>(d)] += p * vv[d];
  }
  for (std::int64_t d = 0; d < head_dim; ++d) out[d] = static_cast<float>(scratch.acc[static_cast<std::size_t>(d)] / total);
}

}  // namespace hs::cpu
