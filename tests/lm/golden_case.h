// The LM golden cases (golden/mula_*.safetensors, parameters from MANIFEST.json) and the tiny
// golden model, loaded once per test binary.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cpu/cpu_backend.h"
#include "engine/io/safetensors.h"
#include "engine/model/lm/mula_model.h"
#include "engine/model/lm/mula_session.h"
#include "engine/text/prompt.h"

namespace hs::test {

struct LmCaseInfo {
  std::string name;     // golden file stem
  float cfg_scale;      // MANIFEST.json "cfg_scale"
  std::int64_t frames;  // MANIFEST.json "frames"
  std::string tags;     // MANIFEST.json "tags"
  std::string lyrics;   // MANIFEST.json "lyrics"
};

inline const std::vector<LmCaseInfo>& lm_cases() {
  static const std::vector<LmCaseInfo> cases{
      {"mula_cfg", 1.5f, 24, "Pop, Happy, Piano,  Female Vocal",
       "[Verse]\nEvery day the light returns\nEvery day the fire burns\n\n[Chorus]\nMoving to the same steady beat"},
      {"mula_nocfg", 1.0f, 20, "lo-fi,chill,rain",
       "[Intro]\n\n[Verse]\n雨の日も 晴れの日も\n¿Dónde estás? 12345!"},
  };
  return cases;
}

inline void PrintTo(const LmCaseInfo& c, std::ostream* os) { *os << c.name; }

// Frame t of golden `frames` [8, T].
inline Frame golden_frame(const Tensor& frames, std::int64_t t) {
  Frame f;
  for (std::int64_t k = 0; k < kNumCodebooks; ++k) f[k] = frames.data<std::int32_t>()[k * frames.dim(1) + t];
  return f;
}

struct LmGolden {
  Prompt prompt;
  Tensor frames;         // I32 [8, T]
  Tensor guided_logits;  // F32 [T, 8, V]
};

inline LmGolden load_lm_golden(const std::filesystem::path& file) {
  const SafetensorsFile f = SafetensorsFile::open(file);
  LmGolden g;
  g.prompt.tokens = f.get("prompt_tokens").clone();
  g.prompt.mask = f.get("prompt_mask").clone();
  g.prompt.muq_index = f.get("muq_idx").data<std::int32_t>()[0];
  g.frames = f.get("frames").clone();
  g.guided_logits = f.get("guided_logits").clone();
  return g;
}

// The golden tiny model (`golden_dir`/mula-tiny) on a process-wide CPU backend.
inline std::shared_ptr<const MulaModel> tiny_model(const std::filesystem::path& golden_dir) {
  static CpuBackend backend;
  static std::shared_ptr<const MulaModel> model = MulaModel::load(backend, golden_dir / "mula-tiny");
  return model;
}

// Guided logits [T · 8, V] of a teacher-forced session over the golden frames.
inline Tensor teacher_forced_logits(const MulaModel& model, const LmGolden& g, float cfg_scale,
                                    KvCache kv = KvCache::Auto) {
  const std::int64_t frames = g.frames.dim(1), vocab = model.audio_vocab();
  Tensor out = Tensor::zeros({frames * kNumCodebooks, vocab}, DType::F32);
  SessionOptions options{{.temperature = 1.0f, .topk = 1, .cfg_scale = cfg_scale}, 0, frames};
  options.kv_cache = kv;
  MulaSession session(model, g.prompt, options);
  for (std::int64_t t = 0; t < frames; ++t) {
    const Frame forced = golden_frame(g.frames, t);
    Tensor guided;
    if (!session.step({.forced = &forced, .guided_logits = &guided})) throw std::runtime_error("the session ended early");
    std::copy_n(guided.data<float>(), kNumCodebooks * vocab, out.data<float>() + t * kNumCodebooks * vocab);
  }
  return out;
}

// The worst over rows of max|a − b| / max|b|.
inline double worst_normalised_error(const Tensor& a, const Tensor& b) {
  const std::int64_t rows = b.dim(0), cols = b.dim(1);
  double worst = 0.0;
  for (std::int64_t r = 0; r < rows; ++r) {
    double num = 0.0, den = 0.0;
    for (std::int64_t c = 0; c < cols; ++c) {
      num = std::max(num, double{std::abs(a.data<float>()[r * cols + c] - b.data<float>()[r * cols + c])});
      den = std::max(den, double{std::abs(b.data<float>()[r * cols + c])});
    }
    worst = std::max(worst, den > 0.0 ? num / den : num);
  }
  return worst;
}

}  // namespace hs::test
