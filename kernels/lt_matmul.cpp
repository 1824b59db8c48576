#include "kernels/lt_matmul.h"

#include "kernels/cuda_check.h"

namespace hs::kernels {
namespace {

struct TypeSet {
  cudaDataType_t ab, d;
  cublasComputeType_t compute;
};

TypeSet types_of(WeightType t) {
  switch (t) {
    case WeightType::F32: return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case WeightType::BF16: return {CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F};
    case WeightType::FP8: return {CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F};
  }
  throw CudaError("LtMatmul: unknown weight type");
}

}  // namespace

LtMatmul::LtMatmul(std::size_t workspace_bytes) : workspace_bytes_(workspace_bytes) {
  CUBLAS_CHECK(cublasLtCreate(&handle_));
  if (workspace_bytes_) CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

LtMatmul::~LtMatmul() {
  for (auto& [key, plan] : plans_) {
    cublasLtMatrixLayoutDestroy(plan.a);
    cublasLtMatrixLayoutDestroy(plan.b);
    cublasLtMatrixLayoutDestroy(plan.d);
    cublasLtMatmulDescDestroy(plan.desc);
  }
  cudaFree(workspace_);
  cublasLtDestroy(handle_);
}

const LtMatmul::Plan& LtMatmul::plan(const LtMatmulParams& p) {
  const Key key{p.rows, p.in, p.out_features, p.type};
  if (const auto it = plans_.find(key); it != plans_.end()) return it->second;
  const TypeSet t = types_of(p.type);
  Plan plan;
  // Column-major view: D [out, rows] = op(A)·B with A = W stored as [in, out] (transposed) and
  // B = x as [in, rows].
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.desc, t.compute, CUDA_R_32F));
  const cublasOperation_t trans = CUBLAS_OP_T, no_trans = CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &no_trans, sizeof(no_trans)));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.a, t.ab, static_cast<std::uint64_t>(p.in),
                                          static_cast<std::uint64_t>(p.out_features), p.in));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.b, t.ab, static_cast<std::uint64_t>(p.in),
                                          static_cast<std::uint64_t>(p.rows), p.in));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.d, t.d, static_cast<std::uint64_t>(p.out_features),
                                          static_cast<std::uint64_t>(p.rows), p.out_features));
  cublasLtMatmulPreference_t pref;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_,
                                                    sizeof(workspace_bytes_)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle_, plan.desc, plan.a, plan.b, plan.d, plan.d,
                                                               pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  plan.found = status == CUBLAS_STATUS_SUCCESS && found > 0;
  if (plan.found) plan.algo = result.algo;
  return plans_.emplace(key, plan).first->second;
}

bool LtMatmul::run(const LtMatmulParams& p, cudaStream_t stream) {
  const Plan& pl = plan(p);
  if (!pl.found) return false;
  const float alpha = 1.0f, beta = 0.0f;
  CUBLAS_CHECK(cublasLtMatmul(handle_, pl.desc, &alpha, p.weight, pl.a, p.x, pl.b, &beta, p.out, pl.d, p.out, pl.d,
                              &pl.algo, workspace_, workspace_bytes_, stream));
  return true;
}

}  // namespace hs::kernels
