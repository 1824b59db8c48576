// HeartMuLa's weights, bound by tensor name (REFERENCE.md "Tensor names"), shape-checked against
// the config and flavors, and converted once onto a backend.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/lm/flavor.h"
#include "engine/model/common/linear_loader.h"
#include "engine/model/lm/weight_source.h"

namespace hs {

// Audio codebooks per frame; the step input has one more column for text.
inline constexpr std::int64_t kNumCodebooks = 8;

struct LayerWeights {
  Tensor sa_norm;   // [dim]
  Tensor mlp_norm;  // [dim]
  Weight qkv_proj, output_proj;  // [q; k; v] stacked by rows (Backend::linear_parts)
  Weight w13, w2;  // [gate; up] stacked by rows (Backend::linear_swiglu), down
};

struct StackWeights {
  LlamaFlavor flavor;
  std::vector<LayerWeights> layers;
  Tensor norm;      // final RMSNorm scale [dim]
  Tensor inv_freq;  // RoPE θ [head_dim / 2]
};

struct MulaWeights {
  StackWeights backbone;
  StackWeights decoder;
  Tensor text_embeddings;               // [text_vocab, D], on the HOST in the narrow dtype: only a
                                        // session's prompt rows are used (MulaSession gathers them)
  Tensor audio_embeddings;              // [audio_vocab · 8, D], the narrow dtype (Backend::narrow_dtype)
  Tensor unconditional_text_embedding;  // [1, D]
  Weight projection;                    // [Dd, D]
  Weight codebook0_head;                // [audio_vocab, D]
  std::vector<Weight> audio_heads;      // 7 × [audio_vocab, Dd] (audio_head[i] transposed)
  Weight muq_linear;                    // [D, muq_dim] + bias
};

// The two stacks' shapes: normally the config's flavors from the table; a benchmark may shorten
// a stack (fewer layers) to fit a small machine.
struct MulaFlavors {
  LlamaFlavor backbone;
  LlamaFlavor decoder;
};
MulaFlavors mula_flavors(const MulaConfig& config);  // FormatError for an unknown flavor name

// Every tensor a HeartMuLa checkpoint with this config (and flavors, by default the config's)
// holds, with its shape.
std::vector<std::pair<std::string, Shape>> mula_tensor_shapes(const MulaConfig& config, const MulaFlavors& flavors);
std::vector<std::pair<std::string, Shape>> mula_tensor_shapes(const MulaConfig& config);

// Reads every tensor of mula_tensor_shapes from `source`, checks its shape and converts it onto
// `backend` (linear weights at `precision`). FormatError naming the tensor when one is missing or
// has the wrong shape (with expected and actual shapes).
MulaWeights load_mula_weights(Backend& backend, const MulaConfig& config, const MulaFlavors& flavors,
                              const WeightSource& source, Precision precision);
// The same with the linears made by `linears` (the fp8 weight cache), under these keys: each
// source linear's tensor name; "<stack>.layers.<i>.attn.qkv_proj.weight" ([q; k; v] by rows) and
// "<stack>.layers.<i>.mlp.w13.weight" ([w1; w3]) for stack backbone / decoder; "audio_head.<i>.weight"
// for audio_head[i] transposed to [audio_vocab, Dd].
MulaWeights load_mula_weights(Backend& backend, const MulaConfig& config, const MulaFlavors& flavors,
                              const WeightSource& source, LinearLoader& linears);

}  // namespace hs
