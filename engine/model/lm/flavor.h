// Llama-3.2 transformer flavors of the HeartMuLa backbone and depth decoder (REFERENCE.md "The
// language model"), and the Llama-3 scaled rotary frequencies they all use.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace hs {

// What a flavor is for: the released checkpoints, the golden test checkpoint (frozen with the
// goldens), or make-demo-model's random-weight checkpoint (free to change with the demo).
enum class FlavorUse : std::uint8_t { Released, GoldenTest, Demo };

struct LlamaFlavor {
  std::string_view name;
  std::int64_t layers;
  std::int64_t heads;
  std::int64_t kv_heads;
  std::int64_t dim;
  std::int64_t ffn_dim;
  std::int64_t max_seq_len;
  FlavorUse use;
  std::int64_t head_dim() const { return dim / heads; }
};

// RMSNorm epsilon of every flavor.
inline constexpr float kRmsNormEps = 1e-5f;

// The flavor called `name`; FormatError listing the known names otherwise.
const LlamaFlavor& llama_flavor(std::string_view name);

// Llama-3 RoPE frequency scaling (torchtune's defaults, shared by every flavor).
struct RopeScaling {
  double base = 500000.0;
  double factor = 32.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_context = 8192.0;
};

// θ_j for j < head_dim/2: base^(−2j/head_dim), scaled as Llama 3 does; computed in double.
std::vector<float> llama3_inv_freq(std::int64_t head_dim, const RopeScaling& scaling = {});

}  // namespace hs
