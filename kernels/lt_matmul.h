// cuBLASLt GEMM y = x · Wᵀ for W [out, in] row-major (the "TN" layout cuBLASLt's fp8 kernels
// need), with one plan (descriptors + heuristic algorithm) cached per shape and type. Types:
// F32 (fp32 in/out, fp32 compute, no TF32), BF16 (bf16 in/out), FP8 (E4M3 weight and x, bf16 out;
// the caller rescales with scale_output). FP8 scaling, chosen by measurement (H200, 600 rows,
// benchmarks/results/fp8_gemm_scaling_h200.json): per-channel weight and per-row x scales
// (outer-vector) lose less than per-tensor scales (worst-row error 0.068–0.080 against
// 0.084–0.098 on rows of varying magnitude), and cuBLASLt's own outer-vector mode costs 15–20 %
// (3072 × 8192: 29.7 vs 24.0 µs), so the GEMM runs with unit scales and scale_output, which runs
// anyway for bias, residual and fp32 output, applies them. Not thread-safe: one instance per
// stream owner.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>

#include "kernels/element_type.h"

namespace hs::kernels {

struct LtMatmulParams {
  const void* weight;  // [out, in]
  const void* x;       // [rows, in]
  void* out;           // [rows, out]
  std::int64_t rows, in, out_features;
  WeightType type;
};

class LtMatmul {
 public:
  explicit LtMatmul(std::size_t workspace_bytes);
  ~LtMatmul();
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;

  // Runs the GEMM; false (and nothing enqueued) when cuBLASLt offers no algorithm for the shape.
  bool run(const LtMatmulParams& p, cudaStream_t stream);
  std::size_t workspace_bytes() const { return workspace_bytes_; }

 private:
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool found = false;
  };
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t, WeightType>;
  const Plan& plan(const LtMatmulParams& p);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_;
  std::map<Key, Plan> plans_;
};

}  // namespace hs::kernels
