// CpuBackend sampling: CFG combine, temperature, top-k, exact categorical draw
// argmax(p / Exp(1)) with Philox variates keyed by (seed, counter, token index).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/core/rng.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {

constexpr std::int64_t kRngWords = 2;  // {seed, counter}

// Index of the first largest value.
std::int64_t argmax(const std::vector<float>& values) {
  return std::max_element(values.begin(), values.end()) - values.begin();
}

// The k-th largest value (k clamped to the vocabulary).
float kth_largest(std::vector<float> values, int k) {
  const auto kth = values.begin() + (std::min<std::size_t>(static_cast<std::size_t>(k), values.size()) - 1);
  std::nth_element(values.begin(), kth, values.end(), std::greater<float>());
  return *kth;
}

}  // namespace

void CpuBackend::sample(const Tensor& logits, const SamplingParams& params, Tensor& rng, Tensor& token,
                        Tensor* guided) {
  using namespace cpu;
  constexpr std::string_view op = "sample";
  check_tensor(logits, DType::F32, op, "logits");
  check_tensor(rng, DType::I64, op, "rng");
  check_tensor(token, DType::I32, op, "token");
  check_rank(logits, 2, op, "logits");
  const std::int64_t rows = logits.dim(0), vocab = logits.dim(1);
  check_that(rows == 1 || rows == 2, op, "logits has " + std::to_string(rows) + " rows, expected 1 or 2 (cond, uncond)");
  check_that(vocab > 0, op, "empty vocabulary");
  check_shape(rng, {kRngWords}, op, "rng");
  check_shape(token, {1}, op, "token");
  check_that(params.topk >= 1, op, "topk " + std::to_string(params.topk) + " < 1");
  check_that(!std::isnan(params.temperature), op, "temperature is NaN");

  // Guidance: uncond + (cond − uncond)·cfg_scale with row 0 conditional, row 1 unconditional.
  const float* l = logits.data<float>();
  std::vector<float> combined(l, l + vocab);
  if (rows == 2)
    for (std::int64_t i = 0; i < vocab; ++i) combined[i] = l[vocab + i] + (l[i] - l[vocab + i]) * params.cfg_scale;
  if (guided) {
    check_tensor(*guided, DType::F32, op, "guided");
    check_shape(*guided, {vocab}, op, "guided");
    std::memcpy(guided->data<float>(), combined.data(), combined.size() * sizeof(float));
  }
  for (std::int64_t i = std::max<std::int64_t>(params.blocked_begin, 0); i < std::min<std::int64_t>(params.blocked_end, vocab); ++i)
    combined[static_cast<std::size_t>(i)] = -std::numeric_limits<float>::infinity();

  auto* state = rng.data<std::int64_t>();
  const auto seed = static_cast<std::uint64_t>(state[0]);
  const auto counter = static_cast<std::uint64_t>(state[1]);
  state[1] = static_cast<std::int64_t>(counter + 1);

  std::int64_t chosen = argmax(combined);
  if (params.temperature > 0.0f) {
    // Keep values >= the k-th largest; p_i ∝ exp((l_i − max)/T). argmax(p_i / E_i) is taken in
    // the log domain, (l_i − max)/T − log E_i: the same draw, without underflow of small p_i.
    const float threshold = kth_largest(combined, params.topk);
    const float max_logit = combined[static_cast<std::size_t>(chosen)];
    double best = -std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < vocab; ++i) {
      if (!(combined[i] >= threshold)) continue;
      const double score = static_cast<double>(combined[i] - max_logit) / params.temperature -
                           std::log(static_cast<double>(exponential_variate(seed, counter, i)));
      if (score > best) {
        best = score;
        chosen = i;
      }
    }
  }
  token.data<std::int32_t>()[0] = static_cast<std::int32_t>(chosen);
}

}  // namespace hs
