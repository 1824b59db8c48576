#include "clients/cli/quality/lm_quality.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "engine/backends/backend_factory.h"
#include "engine/io/safetensors.h"
#include "engine/model/lm/mula_model.h"
#include "engine/pipeline/linear_groups.h"
#include "engine/pipeline/teacher_forcing.h"

namespace hs::cli {

LmQualityRun measure_lm(Backend& backend, const std::filesystem::path& mula_dir, Precision reference,
                        const std::vector<Precision>& precisions, const GenConfig& gen,
                        const GenerationRequest& request, std::int64_t layer_frames) {
  const MulaConfig config = read_mula_config(mula_dir / "config.json");
  const MulaFlavors flavors = mula_flavors(config);
  const TensorStoreSource source(TensorStore::open(mula_dir));
  // The reference keeps its linears by key, so the per-group models below share them.
  RecordingLinears recorded(backend, reference);
  const MulaModel ref_model(backend, config, flavors, source, reference, recorded);
  std::vector<std::unique_ptr<MulaModel>> models;
  std::vector<const MulaModel*> tests;
  for (const Precision p : precisions) {
    models.push_back(std::make_unique<MulaModel>(backend, config, flavors, source, p));
    tests.push_back(models.back().get());
  }
  std::fprintf(stderr, "teacher forcing %zu precision(s) against %s\n", precisions.size(),
               std::string(precision_name(reference)).c_str());
  TeacherForcingResult forced = teacher_force(ref_model, tests, gen, request, layer_frames);
  models.clear();

  LmQualityRun run;
  run.frames = std::move(forced.frames);
  run.stop_reason = forced.reason;
  for (std::size_t i = 0; i < precisions.size(); ++i) run.lm.push_back({precisions[i], std::move(forced.tests[i])});

  // The per-group pass uses the precision that costs the most (other than the reference itself).
  const LmQuality* worst = nullptr;
  for (const LmQuality& q : run.lm)
    if (q.precision != reference && (!worst || q.logits.total().normalised_error() > worst->logits.total().normalised_error()))
      worst = &q;
  if (!worst || forced.reference_logits.empty()) return run;
  run.layer_precision = worst->precision;
  const std::vector<std::string> groups = recorded.groups();
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  GenerationRequest weights_only = request;  // the groups' cost is their weights'
  weights_only.kv_cache = KvCache::Auto;
  std::fprintf(stderr, "%zu linear groups, each alone at %s", groups.size(),
               std::string(precision_name(worst->precision)).c_str());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (terminal) std::fprintf(stderr, "\r%zu linear groups, each alone at %s: %zu", groups.size(),
                               std::string(precision_name(worst->precision)).c_str(), i + 1);
    GroupLinears linears(backend, recorded, groups[i], worst->precision);
    const MulaModel model(backend, config, flavors, source, reference, linears);
    const LogitReport report = teacher_force_prefix(model, gen, weights_only, run.frames, forced.reference_logits);
    run.layers.push_back({groups[i], report.total()});
  }
  std::fprintf(stderr, "\n");
  std::stable_sort(run.layers.begin(), run.layers.end(), [](const LayerQuality& a, const LayerQuality& b) {
    return a.stats.normalised_error() > b.stats.normalised_error();
  });
  return run;
}

}  // namespace hs::cli
