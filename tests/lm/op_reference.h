// Straightforward double-precision loops the CPU backend's ops are checked against, and helpers
// to make random inputs and compare with a normalised error.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "engine/core/tensor.h"

namespace hs::test {

inline Tensor random_f32(const Shape& shape, std::mt19937& gen, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(shape_numel(shape)));
  for (auto& x : v) x = dist(gen);
  return Tensor::from_f32(shape, v);
}

// max |a − b| / max |b|.
inline double relative_error(const float* a, const std::vector<double>& b) {
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

// Attention over q [B, S, H, hd], k/v [B, T, KV, hd]; causal limit positions[s] when given.
inline std::vector<double> attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                               const std::vector<std::int32_t>* positions) {
  const auto B = q.dim(0), S = q.dim(1), H = q.dim(2), hd = q.dim(3), T = k.dim(1), KV = k.dim(2);
  std::vector<double> out(static_cast<std::size_t>(q.numel()));
  const float *qs = q.data<float>(), *ks = k.data<float>(), *vs = v.data<float>();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t kvh = h / (H / KV);
        const std::int64_t visible = positions ? (*positions)[s] + 1 : T;
        std::vector<double> w(static_cast<std::size_t>(visible));
        double mx = -1e300, total = 0.0;
        for (std::int64_t t = 0; t < visible; ++t) {
          double dot = 0.0;
          for (std::int64_t d = 0; d < hd; ++d)
            dot += double{qs[((b * S + s) * H + h) * hd + d]} * ks[((b * T + t) * KV + kvh) * hd + d];
          w[t] = dot / std::sqrt(double(hd));
          mx = std::max(mx, w[t]);
        }
        for (auto& x : w) total += (x = std::exp(x - mx));
        for (std::int64_t d = 0; d < hd; ++d) {
          double acc = 0.0;
          for (std::int64_t t = 0; t < visible; ++t) acc += w[t] * vs[((b * T + t) * KV + kvh) * hd + d];
          out[((b * S + s) * H + h) * hd + d] = acc / total;
        }
      }
  return out;
}

}  // namespace hs::test
