#include "engine/model/demo/demo_weights.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "engine/core/error.h"
#include "engine/core/noise.h"
#include "engine/core/rng.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/lm/mula_weights.h"

namespace hs {
namespace {

constexpr float kPreluSlope = 0.25f;                // PyTorch's PReLU default
constexpr std::string_view kWeightNormG = ".parametrizations.weight.original0";
constexpr std::string_view kWeightNormV = ".parametrizations.weight.original1";

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

Tensor filled(const Shape& shape, float value) {
  Tensor t = Tensor::zeros(shape, DType::F32);
  std::fill_n(t.data<float>(), t.numel(), value);
  return t;
}

// N(0, std²) draws from the seeded stream.
Tensor normal(const Shape& shape, float std_dev, NoiseSource& noise) {
  Tensor t = Tensor::zeros(shape, DType::F32);
  noise.fill(t);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] *= std_dev;
  return t;
}

// N(0, 1/fan_in): fan_in = every dim but the first (a linear's `in`, a conv's in·K).
Tensor fan_in_normal(const Shape& shape, NoiseSource& noise) {
  const std::int64_t fan_in = shape.empty() || shape[0] == 0 ? 1 : shape_numel(shape) / shape[0];
  return normal(shape, static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in))), noise);
}

Tensor to_bf16(const Tensor& f32) {
  Tensor out = Tensor::zeros(f32.shape(), DType::BF16);
  const float* src = f32.data<float>();
  std::uint16_t* dst = out.data<std::uint16_t>();
  for (std::int64_t i = 0; i < f32.numel(); ++i) dst[i] = f32_to_bf16(src[i]);
  return out;
}

// Zeroes index ≥ first of the axis of length `extent` whose elements are `stride` apart.
void zero_from(Tensor& t, std::int64_t extent, std::int64_t stride, std::int64_t first) {
  float* p = t.data<float>();
  const std::int64_t outer = t.numel() / (extent * stride);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = first; i < extent; ++i)
      std::fill_n(p + (o * extent + i) * stride, stride, 0.0f);
}

Tensor mula_tensor(const std::string& name, const Shape& shape, std::int64_t code_count, NoiseSource& noise) {
  if (ends_with(name, ".scale")) return filled(shape, 1.0f);
  if (ends_with(name, "embeddings.weight") || ends_with(name, "embedding.weight") || name == "muq_linear.bias")
    return normal(shape, 1.0f, noise);
  if (name == "audio_head") {  // [7, Dd, V]: fan-in is Dd
    Tensor t = normal(shape, static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape[1]))), noise);
    zero_from(t, shape[2], 1, code_count);
    return t;
  }
  Tensor t = fan_in_normal(shape, noise);
  if (name == "codebook0_head.weight") zero_from(t, shape[0], shape[1], code_count);
  return t;
}

Tensor codec_tensor(const std::string& name, const Shape& shape, NoiseSource& noise) {
  if (ends_with(name, kWeightNormG)) return filled(shape, 1.0f);    // unit-norm filters
  if (ends_with(name, kWeightNormV)) return normal(shape, 1.0f, noise);  // direction only
  if (contains(name, "activation")) return filled(shape, kPreluSlope);
  if (ends_with(name, ".bias")) return filled(shape, 0.0f);
  if (ends_with(name, "norm.weight")) return filled(shape, 1.0f);
  if (contains(name, "scale_shift_table"))
    return normal(shape, static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.back()))), noise);
  if (contains(name, "_codebook.embed")) return normal(shape, 1.0f, noise);
  return fan_in_normal(shape, noise);
}

}  // namespace

void random_mula_weights(const MulaConfig& config, std::int64_t code_count, std::uint64_t seed, const TensorSink& sink) {
  GaussianNoise noise(seed);
  for (const auto& [name, shape] : mula_tensor_shapes(config))
    sink(name, to_bf16(mula_tensor(name, shape, code_count, noise)));
}

void random_codec_weights(const CodecConfig& config, std::uint64_t seed, const TensorSink& sink) {
  GaussianNoise noise(seed);
  for (const auto& [name, shape] : codec_tensor_shapes(config)) sink(name, codec_tensor(name, shape, noise));
}

std::string codec_output_gain_name(const CodecConfig& config) {
  const auto shapes = codec_tensor_shapes(config);
  const auto gain = std::find_if(shapes.rbegin(), shapes.rend(), [](const auto& t) { return ends_with(t.first, kWeightNormG); });
  if (gain == shapes.rend()) throw Error("demo codec: no weight-normed output conv in the tensor list");
  return gain->first;
}

float codec_output_gain(const CodecModel& model, std::int64_t code_frames, std::uint64_t seed) {
  const CodecConfig& config = model.config();
  Tensor codes = Tensor::zeros({config.num_quantizers, code_frames}, DType::I32);
  std::int32_t* ids = codes.data<std::int32_t>();
  for (std::int64_t i = 0; i < codes.numel(); ++i)
    ids[i] = static_cast<std::int32_t>(philox_word(seed, 0, static_cast<std::uint64_t>(i)) %
                                       static_cast<std::uint64_t>(config.codebook_size));
  GaussianNoise noise(seed);
  const Tensor latents = model.flow().sample(model.flow().condition(codes), Tensor(), noise);
  const Tensor audio = model.backend().download(model.decoder().decode(model.decoder().split_channels(latents)));
  float peak = 0.0f;
  for (std::int64_t i = 0; i < audio.numel(); ++i) {
    const float x = audio.data<float>()[i];
    if (!std::isfinite(x)) throw Error("demo codec: calibration decode produced a non-finite sample");
    peak = std::max(peak, std::abs(x));
  }
  if (peak == 0.0f) throw Error("demo codec: calibration decode is silent");
  return kDemoAudioPeak / peak;
}

}  // namespace hs
