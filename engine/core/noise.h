// Where the codec's Gaussian noise comes from (flow-matching start noise, the reference's initial
// latents). Injectable, so a golden case can replay the exact draws the reference made and a
// session can draw its own seeded stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace hs {

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // Fills the host F32 tensor `out` (any shape) with independent N(0, 1) draws.
  virtual void fill(Tensor& out) = 0;
  // Passes over one draw of `shape` that nobody reads, so the next fill is the one after it.
  virtual void skip(const Shape& shape);
};

// Seeded standard normal draws: Box–Muller over the counter-based Philox stream (engine/core/rng.h),
// a pure function of (seed, call number, element index), identical on every platform.
class GaussianNoise final : public NoiseSource {
 public:
  explicit GaussianNoise(std::uint64_t seed) : seed_(seed) {}
  void fill(Tensor& out) override;
  // A draw is one step of the Philox counter whatever its size: nothing to compute.
  void skip(const Shape& shape) override { ++calls_; }

 private:
  std::uint64_t seed_;
  std::uint64_t calls_ = 0;  // the Philox counter: one per fill
};

// Replays recorded draws in call order: the i-th fill receives recorded[i], whose shape must equal
// the requested one (InvalidArgument otherwise); a fill past the last recording throws Error.
class ReplayNoise final : public NoiseSource {
 public:
  explicit ReplayNoise(std::vector<Tensor> recorded);
  void fill(Tensor& out) override;
  // How many recorded draws have been handed out.
  std::size_t used() const { return next_; }

 private:
  std::vector<Tensor> recorded_;
  std::size_t next_ = 0;
};

}  // namespace hs
