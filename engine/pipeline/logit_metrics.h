// How far one codebook's logits are from the reference's, as the sampler would see them: the
// normalised error of the raw (guided) logits, the KL divergence of the top-k sampling
// distribution, and whether the top-1 id and the top-k set agree. Teacher forcing (teacher_forcing.h)
// accumulates these per codebook over a song.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/backend.h"
#include "engine/model/lm/mula_session.h"

namespace hs {

// One codebook of one frame.
struct LogitComparison {
  double error_sq = 0;      // ‖test − reference‖² over the whole vocabulary
  double reference_sq = 0;  // ‖reference‖²
  // KL(p‖q) in nats: p the reference's sampling distribution (softmax of logits / temperature over
  // its top-k ids, the blocked ids excluded; temperature 1 when greedy), q the test's tempered
  // softmax renormalised over the same ids (so it stays finite when the test's top-k differs).
  double kl = 0;
  bool top1_agrees = false;  // the same largest samplable id
  double topk_overlap = 0;   // |top-k(test) ∩ top-k(reference)| / k, over the samplable ids
};

// Compares `test` with `reference` (guided logits of one codebook, same length) under `sampling`
// (temperature, topk, and the blocked id range). InvalidArgument when the lengths differ, the
// vocabulary is empty or every id is blocked.
LogitComparison compare_logits(std::span<const float> test, std::span<const float> reference,
                               const SamplingParams& sampling);

// A song's comparisons for one codebook.
struct CodebookLogitStats {
  double error_sq = 0, reference_sq = 0, kl_sum = 0, kl_max = 0, top1_agreements = 0, topk_overlap_sum = 0;
  std::int64_t frames = 0;

  void add(const LogitComparison& c);
  double normalised_error() const;  // ‖a − b‖ / ‖b‖ over every frame (0 when the reference is all zero)
  double kl_mean() const;
  double top1_agreement() const;    // fraction of frames
  double topk_agreement() const;    // mean overlap fraction
};

// Every codebook of a song, and the per-frame KL (mean over the codebooks).
struct LogitReport {
  std::array<CodebookLogitStats, kNumCodebooks> codebooks;
  std::vector<double> frame_kl;

  // Adds one frame: `test` and `reference` host F32 [8, V].
  void add_frame(const Tensor& test, const Tensor& reference, const SamplingParams& sampling);
  CodebookLogitStats total() const;  // all codebooks pooled
};

}  // namespace hs
