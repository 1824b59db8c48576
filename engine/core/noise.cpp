#include "engine/core/noise.h"

#include <cmath>
#include <numbers>
#include <string>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/core/rng.h"

namespace hs {
namespace {

constexpr std::int64_t kPairsPerChunk = 1 << 14;  // parallel_for grain

void check_host_f32(const Tensor& out, const char* who) {
  if (!out.defined() || out.device() != Device::Cpu || out.dtype() != DType::F32)
    throw InvalidArgument(std::string(who) + ": the output must be a defined host F32 tensor");
}

}  // namespace

void NoiseSource::skip(const Shape& shape) {
  Tensor unused = Tensor::zeros(shape, DType::F32);
  fill(unused);
}

void GaussianNoise::fill(Tensor& out) {
  check_host_f32(out, "GaussianNoise::fill");
  float* y = out.data<float>();
  const auto n = static_cast<std::uint64_t>(out.numel());
  const std::uint64_t counter = calls_++;
  // Box–Muller: words 2i and 2i+1 give the pair (z_2i, z_2i+1); pairs are independent of each
  // other, so they are drawn in parallel with the same result.
  const auto pairs = static_cast<std::int64_t>((n + 1) / 2);
  parallel_for(pairs, kPairsPerChunk, [&](std::int64_t begin, std::int64_t end) {
    for (auto i = static_cast<std::uint64_t>(2 * begin); i < static_cast<std::uint64_t>(2 * end); i += 2) {
      const double u1 = uniform_open01(philox_word(seed_, counter, i));
      const double u2 = uniform_open01(philox_word(seed_, counter, i + 1));
      const double radius = std::sqrt(-2.0 * std::log(u1));
      const double angle = 2.0 * std::numbers::pi * u2;
      y[i] = static_cast<float>(radius * std::cos(angle));
      if (i + 1 < n) y[i + 1] = static_cast<float>(radius * std::sin(angle));
    }
  });
}

ReplayNoise::ReplayNoise(std::vector<Tensor> recorded) : recorded_(std::move(recorded)) {
  for (std::size_t i = 0; i < recorded_.size(); ++i) {
    const Tensor& t = recorded_[i];
    if (!t.defined() || t.device() != Device::Cpu)
      throw InvalidArgument("ReplayNoise: recorded draw " + std::to_string(i) + " is not a defined host tensor");
  }
}

void ReplayNoise::fill(Tensor& out) {
  check_host_f32(out, "ReplayNoise::fill");
  if (next_ >= recorded_.size())
    throw Error("ReplayNoise: draw " + std::to_string(next_) + " of shape " + shape_str(out.shape()) +
                " requested, but only " + std::to_string(recorded_.size()) + " draws were recorded");
  const Tensor& draw = recorded_[next_];
  if (draw.shape() != out.shape())
    throw InvalidArgument("ReplayNoise: draw " + std::to_string(next_) + " was recorded with shape " +
                          shape_str(draw.shape()) + " but shape " + shape_str(out.shape()) + " is requested");
  convert_to_f32(draw.dtype(), draw.raw(), out.data<float>(), static_cast<std::size_t>(out.numel()));
  ++next_;
}

}  // namespace hs
