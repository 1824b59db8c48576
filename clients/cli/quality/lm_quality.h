// The language model's half of `heartstream quality`: the reference precision generates the
// request, every other precision is teacher-forced on its frames (teacher_forcing.h), then —
// over the first frames — the costliest precision is applied to one linear group at a time
// (linear_groups.h) to see which tensors cost the most.
#pragma once

#include <filesystem>
#include <vector>

#include "clients/cli/quality/quality_report.h"
#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/pipeline/generator.h"

namespace hs::cli {

struct LmQualityRun {
  std::vector<Frame> frames;  // the reference's song
  StopReason stop_reason = StopReason::Length;
  std::vector<LmQuality> lm;  // one per precision, in the order asked
  std::optional<Precision> layer_precision;
  std::vector<LayerQuality> layers;  // largest logit error first
};

// Loads the HeartMuLa folder `mula_dir` at `reference` and at each of `precisions` on `backend`
// (no fp8 weight cache is read or written: the checkpoint folder stays as it is) and measures.
// `layer_frames` = 0 skips the per-group pass. request.kv_cache applies to the precisions measured
// (not to the reference, nor to the per-group pass).
LmQualityRun measure_lm(Backend& backend, const std::filesystem::path& mula_dir, Precision reference,
                        const std::vector<Precision>& precisions, const GenConfig& gen,
                        const GenerationRequest& request, std::int64_t layer_frames);

}  // namespace hs::cli
