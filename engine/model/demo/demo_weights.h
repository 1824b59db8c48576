// Seeded random weights in the real checkpoints' tensor layout (mula_tensor_shapes,
// codec_tensor_shapes), scaled so activations stay near unit size: the demo checkpoint's content.
// Every value is a pure function of the seed (Philox draws, engine/core/noise.h), so the same
// seed writes the same files on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"

namespace hs {

// Named host tensors in file order, as write_safetensors takes them.
using TensorList = std::vector<std::pair<std::string, Tensor>>;

// Peak |sample| the demo codec is scaled to on its calibration decode (random codes): loud enough
// to hear, with headroom below clipping for other codes.
inline constexpr float kDemoAudioPeak = 0.3f;

// HeartMuLa weights, stored as BF16. The head rows of ids ≥ `code_count` (the audio EOS and other
// non-code ids) are zero, so with top-k sampling (k < code_count / 2) a demo model emits only ids
// the codec can decode and runs until the requested length.
TensorList random_mula_weights(const MulaConfig& config, std::int64_t code_count, std::uint64_t seed);

// HeartCodec weights (F32). The output conv's gain is set from a decode of random codes on
// `backend` so that its audio peaks at kDemoAudioPeak.
TensorList random_codec_weights(Backend& backend, const CodecConfig& config, std::uint64_t seed);

}  // namespace hs
