#include "engine/pipeline/logit_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

bool blocked(std::int64_t id, const SamplingParams& s) { return id >= s.blocked_begin && id < s.blocked_end; }

// The samplable ids of `logits` with the k largest values, largest first (ties by lower id).
std::vector<std::int64_t> top_ids(std::span<const float> logits, const SamplingParams& s, std::int64_t k) {
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(logits.size()); ++i)
    if (!blocked(i, s)) ids.push_back(i);
  k = std::min<std::int64_t>(k, static_cast<std::int64_t>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](std::int64_t a, std::int64_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  ids.resize(static_cast<std::size_t>(k));
  return ids;
}

// log softmax(logits[ids] / temperature) over `ids`.
std::vector<double> log_softmax(std::span<const float> logits, const std::vector<std::int64_t>& ids, double temperature) {
  double max_scaled = -INFINITY;
  for (std::int64_t i : ids) max_scaled = std::max(max_scaled, logits[i] / temperature);
  double sum = 0;
  for (std::int64_t i : ids) sum += std::exp(logits[i] / temperature - max_scaled);
  const double log_sum = max_scaled + std::log(sum);
  std::vector<double> out;
  out.reserve(ids.size());
  for (std::int64_t i : ids) out.push_back(logits[i] / temperature - log_sum);
  return out;
}

}  // namespace

LogitComparison compare_logits(std::span<const float> test, std::span<const float> reference,
                               const SamplingParams& sampling) {
  if (test.size() != reference.size())
    throw InvalidArgument("compare_logits: test has " + std::to_string(test.size()) + " logits, the reference " +
                          std::to_string(reference.size()));
  if (reference.empty()) throw InvalidArgument("compare_logits: empty vocabulary");
  LogitComparison c;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double d = double{test[i]} - reference[i];
    c.error_sq += d * d;
    c.reference_sq += double{reference[i]} * reference[i];
  }
  const std::int64_t k = std::max(sampling.topk, 1);
  const std::vector<std::int64_t> ref_top = top_ids(reference, sampling, k);
  if (ref_top.empty()) throw InvalidArgument("compare_logits: every id is blocked");
  const std::vector<std::int64_t> test_top = top_ids(test, sampling, k);
  c.top1_agrees = ref_top.front() == test_top.front();
  std::vector<std::int64_t> a = ref_top, b = test_top, common;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  c.topk_overlap = static_cast<double>(common.size()) / static_cast<double>(ref_top.size());
  const double temperature = sampling.temperature > 0 ? sampling.temperature : 1.0;
  const std::vector<double> log_p = log_softmax(reference, ref_top, temperature);
  const std::vector<double> log_q = log_softmax(test, ref_top, temperature);
  for (std::size_t i = 0; i < log_p.size(); ++i) c.kl += std::exp(log_p[i]) * (log_p[i] - log_q[i]);
  c.kl = std::max(c.kl, 0.0);  // rounding can leave −1e-17 for equal distributions
  return c;
}

void CodebookLogitStats::add(const LogitComparison& c) {
  error_sq += c.error_sq;
  reference_sq += c.reference_sq;
  kl_sum += c.kl;
  kl_max = std::max(kl_max, c.kl);
  top1_agreements += c.top1_agrees ? 1 : 0;
  topk_overlap_sum += c.topk_overlap;
  ++frames;
}

double CodebookLogitStats::normalised_error() const {
  return reference_sq > 0 ? std::sqrt(error_sq / reference_sq) : 0.0;
}
double CodebookLogitStats::kl_mean() const { return frames ? kl_sum / static_cast<double>(frames) : 0.0; }
double CodebookLogitStats::top1_agreement() const {
  return frames ? top1_agreements / static_cast<double>(frames) : 0.0;
}
double CodebookLogitStats::topk_agreement() const {
  return frames ? topk_overlap_sum / static_cast<double>(frames) : 0.0;
}

void LogitReport::add_frame(const Tensor& test, const Tensor& reference, const SamplingParams& sampling) {
  if (test.shape() != reference.shape() || test.rank() != 2 || test.dim(0) != kNumCodebooks)
    throw InvalidArgument("LogitReport: logits " + shape_str(test.shape()) + " against " +
                          shape_str(reference.shape()) + ", expected both [" + std::to_string(kNumCodebooks) + ", V]");
  const std::size_t vocab = static_cast<std::size_t>(test.dim(1));
  double kl = 0;
  for (std::size_t k = 0; k < codebooks.size(); ++k) {
    const LogitComparison c = compare_logits({test.data<float>() + k * vocab, vocab},
                                             {reference.data<float>() + k * vocab, vocab}, sampling);
    codebooks[k].add(c);
    kl += c.kl;
  }
  frame_kl.push_back(kl / static_cast<double>(codebooks.size()));
}

CodebookLogitStats LogitReport::total() const {
  CodebookLogitStats t;
  for (const CodebookLogitStats& c : codebooks) {
    t.error_sq += c.error_sq;
    t.reference_sq += c.reference_sq;
    t.kl_sum += c.kl_sum;
    t.kl_max = std::max(t.kl_max, c.kl_max);
    t.top1_agreements += c.top1_agreements;
    t.topk_overlap_sum += c.topk_overlap_sum;
    t.frames += c.frames;
  }
  return t;
}

}  // namespace hs
