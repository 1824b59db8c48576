// The CPU backend's attention of one (query, head) over `visible` keys, shared by the dense
// attention (cpu_attention.cpp) and the paged one (cpu_batch_ops.cpp) so that both give the same
// bits: scores in fp32, the softmax-weighted sum of values in fp64.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace hs::cpu {

struct AttentionScratch {
  AttentionScratch(std::int64_t keys, std::int64_t head_dim);
  std::vector<float> scores;
  std::vector<double> acc;
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
