// CudaBackend's private state and the argument checks its op files share (CUDA headers allowed:
// only engine/cuda includes this).
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "engine/cuda/cuda_backend.h"
#include "kernels/attention.cuh"
#include "kernels/element_type.h"
#include "kernels/lt_matmul.h"
#include "kernels/rms_norm.cuh"

namespace hs {

// Bytes of device memory one backend holds, within its budget (if any); shared with every
// allocation's deleter.
struct MemoryCounter {
  std::atomic<std::size_t> current{0};
  std::atomic<std::size_t> peak{0};
  std::shared_ptr<DeviceMemoryBudget> budget;
  // Counts `bytes` more; OutOfMemory (nothing counted) when the budget would be passed.
  void take(std::size_t bytes, const std::string& what);
  void release(std::size_t bytes);
};

struct CudaBackend::State {
  std::string gpu;  // "NVIDIA H200, compute capability 9.0"
  int device = 0;   // the CUDA device ordinal
  DType activations;
  DType narrow;  // narrow_dtype() of bf16 / fp8 weights
  cudaStream_t stream = nullptr;  // owned by `stream_owner`
  // The stream lives while the backend or any of its allocations does: each allocation is freed
  // in stream order on it (cudaFreeAsync), which does not wait for the device as cudaFree does.
  std::shared_ptr<CUstream_st> stream_owner;
  std::unique_ptr<kernels::LtMatmul> lt;
  Tensor scratch;  // U8 [scratch_bytes]
  std::shared_ptr<MemoryCounter> memory = std::make_shared<MemoryCounter>();
  bool capturing = false;
  bool graphs = true;  // HEARTSTREAM_CUDA_GRAPHS != "0"
  bool tables_in_host_memory = true;
  bool attention_tensor_cores = false;
  // fp8 GEMMs on fp8 tensor cores (compute capability 8.9 on, not forced portable); false: the
  // portable path widens fp8 weights into `widened` (bf16, as many values as the largest fp8
  // matrix allocated: CudaBackend::alloc grows it) for each prefill GEMM.
  bool fp8_tensor_cores = true;
  Tensor widened;
};

namespace cuda {

// Makes device `device` the calling thread's current one (a no-op when it is). CUDA's current
// device is per thread, and a backend's ops run on whichever thread calls them: the daemon's
// engine worker steps a language model on one GPU and its codec on another, and a tensor is freed
// by the thread that drops it. Every op of the backend starts with it.
void use_device(int device);
inline void use_device(const CudaBackend::State& s) { use_device(s.device); }

kernels::ElementType element_type(DType dtype, std::string_view op, std::string_view arg);

// The tensor is defined, on this backend's device and of dtype `dtype`.
void check_tensor(const Tensor& t, DType dtype, std::string_view op, std::string_view arg);
void check_shape(const Tensor& t, const Shape& shape, std::string_view op, std::string_view arg);
void check_that(bool cond, std::string_view op, const std::string& what);
// A tensor in the activation dtype or the narrow one (Backend::narrow_dtype).
void check_act_or_narrow(const CudaBackend::State& s, const Tensor& t, std::string_view op, std::string_view arg);
// The checked kernel parameters of rms_norm_modulate(x, weight, eps, shift, scale, out).
kernels::RmsNormParams modulated_norm(const CudaBackend::State& s, const Tensor& x, const Tensor& weight, float eps,
                                      const Tensor& shift, const Tensor& scale, const ScaledTensor& out,
                                      std::string_view op);
// A ScaledTensor in the activation or narrow dtype, or fp8 with F32 scales of its shape without
// the last dimension.
void check_scaled(const CudaBackend::State& s, const ScaledTensor& t, std::string_view op, std::string_view arg);
// A KV cache's keys and values (Backend's ScaledTensor): both in the activation or narrow dtype, or both
// fp8 with F32 scales [.., kv_heads].
void check_kv(const CudaBackend::State& s, const ScaledTensor& k, const ScaledTensor& v, std::string_view op,
              std::string_view what);
// Points the attention kernel's k, v, kv_type and (an fp8 cache) scales at a checked cache.
void read_kv(kernels::AttentionParams& p, const ScaledTensor& k, const ScaledTensor& v, std::string_view op);
// src [tokens, kv_heads · head_dim] (activations, tokens = batch · steps) into an fp8 cache (checked
// by the caller): token (b, s) at position positions[s] of row b, or (paged, batch 1) at pool row
// slots[s].
void store_kv_fp8(const CudaBackend::State& s, const ScaledTensor& cache, const Tensor& src, const Tensor& positions,
                  const Tensor* slots, std::int64_t batch, std::int64_t capacity, std::string_view op);
// A typed pointer into the scratch arena, `bytes` long from `offset` (checked against its size).
void* scratch(const CudaBackend::State& s, std::size_t offset, std::size_t bytes, std::string_view op);

}  // namespace cuda
}  // namespace hs
