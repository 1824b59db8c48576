// Helpers for the codec tests: random inputs, error measures, the tiny golden codec.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"

namespace hs::test {

inline Tensor random_tensor(const Shape& shape, std::mt19937& gen, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(shape_numel(shape)));
  for (auto& x : v) x = dist(gen);
  return Tensor::from_f32(shape, v);
}

// max |a − b| / max |b| over host F32 tensors of the same element count.
inline double max_error(const Tensor& a, const Tensor& b) {
  double num = 0.0, den = 0.0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    num = std::max(num, std::abs(double{a.data<float>()[i]} - b.data<float>()[i]));
    den = std::max(den, std::abs(double{b.data<float>()[i]}));
  }
  return den > 0 ? num / den : num;
}

// max |a − want| / max |want| against a double reference.
inline double max_error(const Tensor& a, const std::vector<double>& want) {
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, std::abs(a.data<float>()[i] - want[i]));
    den = std::max(den, std::abs(want[i]));
  }
  return den > 0 ? num / den : num;
}

// ‖a − b‖ / ‖b‖.
inline double relative_l2(const Tensor& a, const Tensor& b) {
  double num = 0.0, den = 0.0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    const double d = double{a.data<float>()[i]} - b.data<float>()[i];
    num += d * d;
    den += double{b.data<float>()[i]} * b.data<float>()[i];
  }
  return std::sqrt(num / den);
}

// "1.23e-05", for recording errors as test properties.
inline std::string scientific(double value) {
  std::ostringstream os;
  os.precision(2);
  os << std::scientific << value;
  return os.str();
}

// The tensors `prefix`0, `prefix`1, ... of a case file, in order.
inline std::vector<Tensor> numbered(const SafetensorsFile& file, const std::string& prefix) {
  std::vector<Tensor> out;
  for (int i = 0; file.contains(prefix + std::to_string(i)); ++i) out.push_back(file.get(prefix + std::to_string(i)));
  return out;
}

// The golden window latents [1, 744, C] of a case file as [744, C] on the model's backend.
inline std::vector<Tensor> golden_latents(const CodecModel& model, const SafetensorsFile& golden) {
  std::vector<Tensor> out;
  for (const Tensor& l : numbered(golden, "latent_")) out.push_back(model.backend().upload(l).reshape({l.dim(1), l.dim(2)}));
  return out;
}

// The views of the audio the golden cases store: `wav_head` (the first second) and
// `wav_stride16` (every 16th sample) of [channels, samples].
inline constexpr std::int64_t kGoldenHeadSamples = 48000;
inline constexpr std::int64_t kGoldenStride = 16;

inline Tensor head(const Tensor& wav) {
  Tensor out = Tensor::zeros({wav.dim(0), kGoldenHeadSamples}, DType::F32);
  for (std::int64_t c = 0; c < wav.dim(0); ++c)
    for (std::int64_t i = 0; i < kGoldenHeadSamples; ++i)
      out.data<float>()[c * kGoldenHeadSamples + i] = wav.data<float>()[c * wav.dim(1) + i];
  return out;
}

inline Tensor every_16th(const Tensor& wav) {
  const std::int64_t n = (wav.dim(1) + kGoldenStride - 1) / kGoldenStride;
  Tensor out = Tensor::zeros({wav.dim(0), n}, DType::F32);
  for (std::int64_t c = 0; c < wav.dim(0); ++c)
    for (std::int64_t i = 0; i < n; ++i)
      out.data<float>()[c * n + i] = wav.data<float>()[c * wav.dim(1) + i * kGoldenStride];
  return out;
}

// The tiny golden codec on the CPU backend, loaded once per test binary.
inline const CodecModel& tiny_codec(const std::filesystem::path& folder) {
  static CpuBackend backend;
  static const CodecModel model = CodecModel::load(backend, folder);
  return model;
}

}  // namespace hs::test
