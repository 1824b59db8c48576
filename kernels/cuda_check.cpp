#include "kernels/cuda_check.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

namespace hs::kernels {

void throw_cuda_error(int code, const char* statement, const char* file, int line) {
  throw CudaError(std::string("CUDA error ") + cudaGetErrorName(static_cast<cudaError_t>(code)) + " (" +
                  cudaGetErrorString(static_cast<cudaError_t>(code)) + ") in " + statement + " at " + file + ":" +
                  std::to_string(line));
}

void throw_cublas_error(int code, const char* statement, const char* file, int line) {
  throw CudaError(std::string("cuBLAS error ") + cublasLtGetStatusName(static_cast<cublasStatus_t>(code)) + " (" +
                  cublasLtGetStatusString(static_cast<cublasStatus_t>(code)) + ") in " + statement + " at " + file +
                  ":" + std::to_string(line));
}

}  // namespace hs::kernels
