// Typed CUDA / cuBLAS errors (STYLE.md 5): the checks throw CudaError naming the statement, the
// file and line and the library's own message; nothing here exits.
#pragma once

#include <stdexcept>
#include <string>

namespace hs::kernels {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_cuda_error(int code, const char* statement, const char* file, int line);
[[noreturn]] void throw_cublas_error(int code, const char* statement, const char* file, int line);

}  // namespace hs::kernels

#define CUDA_CHECK(stmt)                                                                     \
  do {                                                                                       \
    const auto hs_cuda_status_ = (stmt);                                                     \
    if (hs_cuda_status_ != 0) ::hs::kernels::throw_cuda_error(static_cast<int>(hs_cuda_status_), #stmt, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(stmt)                                                                   \
  do {                                                                                       \
    const auto hs_cublas_status_ = (stmt);                                                   \
    if (hs_cublas_status_ != 0) ::hs::kernels::throw_cublas_error(static_cast<int>(hs_cublas_status_), #stmt, __FILE__, __LINE__); \
  } while (0)
