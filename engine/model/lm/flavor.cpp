#include "engine/model/lm/flavor.h"

#include <array>
#include <cmath>
#include <numbers>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr auto R = FlavorUse::Released;
constexpr auto G = FlavorUse::GoldenTest;
constexpr auto D = FlavorUse::Demo;

constexpr std::array<LlamaFlavor, 8> kFlavors{{
    // name            layers heads kv  dim   ffn    max_seq use
    {"llama-3B", 28, 24, 8, 3072, 8192, 8192, R},
    {"llama-300M", 3, 8, 4, 3072, 8192, 2048, R},
    {"llama-7B", 32, 32, 8, 4096, 14336, 8192, R},
    {"llama-400M", 4, 8, 4, 3072, 8192, 2048, R},
    {"llama-tiny", 2, 4, 2, 64, 128, 1024, G},      // golden/mula-tiny backbone only
    {"llama-tiny-dec", 2, 2, 1, 96, 160, 16, G},   // golden/mula-tiny decoder only
    // make-demo-model only: tiny shapes with the released backbone's context, so a demo song can
    // reach the reference CLI's default 240 s (3001 frames plus the prompt).
    {"llama-demo", 2, 4, 2, 64, 128, 8192, D},
    {"llama-demo-dec", 2, 2, 1, 96, 160, 16, D},   // a frame uses 8 decoder positions
}};

}  // namespace

const LlamaFlavor& llama_flavor(std::string_view name) {
  for (const auto& f : kFlavors)
    if (f.name == name) return f;
  std::string known;
  for (const auto& f : kFlavors) known += (known.empty() ? "" : ", ") + std::string(f.name);
  throw FormatError("unknown Llama flavor '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<float> llama3_inv_freq(std::int64_t head_dim, const RopeScaling& s) {
  const double low_freq_wavelen = s.original_context / s.low_freq_factor;
  const double high_freq_wavelen = s.original_context / s.high_freq_factor;
  std::vector<float> out;
  for (std::int64_t j = 0; j < head_dim / 2; ++j) {
    const double freq = 1.0 / std::pow(s.base, static_cast<double>(2 * j) / static_cast<double>(head_dim));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    double scaled = freq;
    if (wavelen > low_freq_wavelen) {
      scaled = freq / s.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (s.original_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      scaled = (1.0 - smooth) * freq / s.factor + smooth * freq;
    }
    out.push_back(static_cast<float>(scaled));
  }
  return out;
}

}  // namespace hs
