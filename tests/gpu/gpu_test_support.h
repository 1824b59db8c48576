// Shared pieces of the GPU tests: skipping without a device, device copies, random inputs rounded to the
// device precision (so the CPU reference sees exactly what the GPU sees) and normalised error.
#pragma once

#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/core/tensor.h"
#include "engine/cuda/cuda_backend.h"

namespace hs::test {

#define HS_REQUIRE_GPU()                                                                     \
  if (!::hs::CudaBackend::device_available()) GTEST_SKIP() << "no CUDA device present"

// A device copy of `host` (cudaFree it).
template <typename T>
T* device_copy(const std::vector<T>& host) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, host.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return static_cast<T*>(p);
}

// One backend per activation dtype for the whole test binary.
inline CudaBackend& cuda_backend(DType activations) {
  static CudaBackend f32({.activations = DType::F32});
  static CudaBackend bf16({.activations = DType::BF16});
  return activations == DType::F32 ? f32 : bf16;
}

// fp32 values exactly representable in `dtype` (F32 or BF16).
inline Tensor round_to(const Tensor& t, DType dtype) {
  Tensor out = t.clone();
  if (dtype == DType::BF16)
    for (std::int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] = bf16_to_f32(f32_to_bf16(out.data<float>()[i]));
  return out;
}

inline Tensor random_tensor(const Shape& shape, std::mt19937& gen, DType dtype, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  Tensor t = Tensor::zeros(shape, DType::F32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return round_to(t, dtype);
}

// max|a − b| / max|b| over two host fp32 tensors of the same size.
inline double normalised_error(const Tensor& a, const Tensor& b) {
  double num = 0.0, den = 0.0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    num = std::max(num, double{std::abs(a.data<float>()[i] - b.data<float>()[i])});
    den = std::max(den, double{std::abs(b.data<float>()[i])});
  }
  return den > 0.0 ? num / den : num;
}

// Output tolerance of an op computed in fp32 whose result is stored in `dtype`.
inline double tolerance(DType dtype) { return dtype == DType::F32 ? 1e-5 : 1e-2; }

}  // namespace hs::test
