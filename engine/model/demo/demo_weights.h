// Seeded random weights in the real checkpoints' tensor layout (mula_tensor_shapes,
// codec_tensor_shapes), scaled so activations stay near unit size: the demo checkpoint's content.
// Every value is a pure function of the seed (Philox draws, engine/core/noise.h), so the same
// seed writes the same files on every machine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_model.h"

namespace hs {

// Receives a checkpoint's tensors in file order as they are made, one at a time, so that one of the
// released sizes never has to fit in memory whole.
using TensorSink = std::function<void(const std::string& name, const Tensor& tensor)>;

// Peak |sample| the demo codec is scaled to on its calibration decode (random codes): loud enough
// to hear, with headroom below clipping for other codes.
inline constexpr float kDemoAudioPeak = 0.3f;

// HeartMuLa weights, stored as BF16. The head rows of ids ≥ `code_count` (the audio EOS and other
// non-code ids) are zero, so with top-k sampling (k < code_count / 2) a demo model emits only ids
// the codec can decode and runs until the requested length.
void random_mula_weights(const MulaConfig& config, std::int64_t code_count, std::uint64_t seed, const TensorSink& sink);

// HeartCodec weights (F32) with the output conv's gain (codec_output_gain_name) at 1, to be set
// afterwards from codec_output_gain: the audio is linear in it.
void random_codec_weights(const CodecConfig& config, std::uint64_t seed, const TensorSink& sink);

// Name of the output conv's weight-norm gain g ([1, 1, 1]), the last gain in file order.
std::string codec_output_gain_name(const CodecConfig& config);

// The output gain that makes `model` (random_codec_weights, gain 1) peak at kDemoAudioPeak on a
// decode of `code_frames` seeded random code frames. Error if that decode is non-finite or silent.
float codec_output_gain(const CodecModel& model, std::int64_t code_frames, std::uint64_t seed);

}  // namespace hs
