// The tensors a HeartCodec checkpoint must hold for this engine, by name and shape, derived from a
// config (the codec's counterpart of mula_tensor_shapes). Real checkpoints hold more (the scalar
// model's encoder, RVQ training statistics), which the engine never reads. Used to build
// random-weight checkpoints of any size (the demo model, benchmarks) in the real layout.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/io/config.h"

namespace hs {

// In layer order: RVQ codebooks and projections, the estimator (proj_in, first stack,
// connection_proj, second stack, proj_out), then the scalar decoder from its input conv to its
// output conv (whose weight-norm tensors come last). Weight-normed convs appear as their
// `.parametrizations.weight.original0` (g, [C, 1, 1]) and `.original1` (v) pair.
std::vector<std::pair<std::string, Shape>> codec_tensor_shapes(const CodecConfig& config);

}  // namespace hs
