// CudaBackend memory ops: device allocations (counted; taken from the device's memory pool and
// given back in the backend's stream order, so a free does not wait for the GPU), host ↔ device
// copies on the backend's stream, embedding tables in mapped pinned host memory, and weight
// conversion to bf16 / fp32 / fp8 E4M3 with per-output-channel scales (fp8 quantized on the host,
// engine/core/fp8_quantize.h, and uploaded as it is).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "engine/cuda/cuda_state.h"
#include "engine/core/fp8_quantize.h"
#include "engine/core/q4_quantize.h"
#include "kernels/copy_many.cuh"
#include "kernels/cuda_check.h"

namespace hs {
namespace {

void check_host(const Tensor& t, std::string_view op, std::string_view arg) {
  if (!t.defined()) throw InvalidArgument(std::string(op) + ": " + std::string(arg) + " is undefined");
  if (t.device() != Device::Cpu) throw InvalidArgument(std::string(op) + ": " + std::string(arg) + " is not a host tensor");
}

// A host tensor of `dtype` holding the fp32 values of `host` (F32 or BF16 targets).
Tensor host_as(const Tensor& host, DType dtype) { return dtype == DType::F32 ? host.to_f32() : host.to_bf16(); }

// A linear's fp32 bias [out] on the device, or undefined without one.
Tensor upload_bias(CudaBackend& backend, const Tensor* bias, std::int64_t out_features, std::string_view op) {
  if (!bias) return Tensor();
  check_host(*bias, op, "bias");
  cuda::check_that(bias->shape() == Shape{out_features}, op, "bias has shape " + shape_str(bias->shape()));
  return backend.upload_exact(bias->to_f32());
}

// cuBLASLt's fp8 GEMMs want the weight's rows (and every GEMM a 16-byte output stride) in
// multiples of 16: a weight of another height is stored with zero rows up to the next multiple.
constexpr std::int64_t kGemmRowMultiple = 16;

// `host` [out, in] on the device with its rows padded to kGemmRowMultiple; sets w.values and
// w.stored_rows.
void upload_weight(CudaBackend& backend, const Tensor& host, Weight& w) {
  const std::int64_t rows = host.dim(0), padded = (rows + kGemmRowMultiple - 1) / kGemmRowMultiple * kGemmRowMultiple;
  if (padded == rows) {
    w.values = backend.upload_exact(host);
    return;
  }
  Tensor storage = backend.alloc({padded, host.dim(1)}, host.dtype());  // zero-filled
  Tensor head = storage.slice(0, rows);
  backend.write(host, head);
  w.values = head;
  w.stored_rows = padded;
}

}  // namespace

Tensor CudaBackend::alloc(const Shape& shape, DType dtype) {
  cuda::use_device(*state_);
  for (auto d : shape) HS_CHECK(d >= 0, "alloc: negative dimension in " + shape_str(shape));
  cuda::check_that(!state_->capturing, "alloc", "cannot allocate while capturing a graph");
  const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  const std::size_t padded = bytes == 0 ? 1 : bytes;
  const std::string what = "a " + std::string(dtype_name(dtype)) + " " + shape_str(shape) + " tensor";
  state_->memory->take(padded, what);
  void* p = nullptr;
  cudaError_t status = cudaMallocAsync(&p, padded, state_->stream);
  if (status == cudaErrorMemoryAllocation) {
    // The pool keeps freed memory (CudaBackend's release threshold): hand it back and try again.
    cudaGetLastError();
    CUDA_CHECK(cudaDeviceSynchronize());
    cudaMemPool_t pool = nullptr;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, state_->device));
    CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
    status = cudaMallocAsync(&p, padded, state_->stream);
  }
  if (status != cudaSuccess) {
    state_->memory->release(padded);
    if (status != cudaErrorMemoryAllocation) CUDA_CHECK(status);
    cudaGetLastError();  // an allocation failure is not sticky: clear it
    std::size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    constexpr double kGb = 1e9;
    char text[256];
    std::snprintf(text, sizeof text, "CUDA out of memory: %s of %.3f GB (heartstream holds %.3f GB here, the GPU has "
                  "%.3f of %.3f GB free)", what.c_str(), static_cast<double>(padded) / kGb,
                  static_cast<double>(state_->memory->current.load()) / kGb, static_cast<double>(free) / kGb,
                  static_cast<double>(total) / kGb);
    throw OutOfMemory(std::string(text) + "; --vram_budget_gb plans within the card (a shorter song, fp8, or the "
                                          "codec on the CPU)");
  }
  CUDA_CHECK(cudaMemsetAsync(p, 0, padded, state_->stream));
  // Back to the pool after the work queued on the stream so far, without waiting for it; while the
  // stream is being captured (the free would join the graph) cudaFree waits for the device instead.
  auto give_back = [counter = state_->memory, padded, device = state_->device, stream = state_->stream_owner](void* q) {
    cuda::use_device(device);
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    cudaStreamIsCapturing(stream.get(), &capture);
    if (capture == cudaStreamCaptureStatusNone) cudaFreeAsync(q, stream.get());
    else cudaFree(q);
    counter->release(padded);
  };
  Tensor out = Tensor::view(p, shape, dtype, Device::Cuda, std::shared_ptr<void>(p, give_back));
  // On the portable path every fp8 matrix is a linear's weight (stored rows included; stacks the
  // codec builds on the device too): the widened buffer grows to the largest, outside any graph.
  if (dtype == DType::F8_E4M3 && shape.size() == 2 && !state_->fp8_tensor_cores &&
      state_->widened.numel() < shape_numel(shape)) {
    state_->widened = Tensor();
    state_->widened = alloc({shape_numel(shape)}, DType::BF16);
  }
  return out;
}

Tensor CudaBackend::upload(const Tensor& host) {
  check_host(host, "upload", "host");
  return upload_exact(is_float(host.dtype()) ? host_as(host, state_->activations) : host);
}

Tensor CudaBackend::upload_exact(const Tensor& host) {
  cuda::use_device(*state_);
  check_host(host, "upload", "host");
  Tensor out = alloc(host.shape(), host.dtype());
  CUDA_CHECK(cudaMemcpyAsync(out.raw(), host.raw(), host.bytes(), cudaMemcpyHostToDevice, state_->stream));
  CUDA_CHECK(cudaStreamSynchronize(state_->stream));  // `host` may be freed when we return
  return out;
}

Tensor CudaBackend::upload_table(const Tensor& host) {
  cuda::use_device(*state_);
  if (!state_->tables_in_host_memory) return upload_exact(host);
  check_host(host, "upload_table", "host");
  void* p = nullptr;
  CUDA_CHECK(cudaHostAlloc(&p, host.bytes() == 0 ? 1 : host.bytes(), cudaHostAllocMapped));
  std::memcpy(p, host.raw(), host.bytes());
  void* device_view = nullptr;
  CUDA_CHECK(cudaHostGetDevicePointer(&device_view, p, 0));
  return Tensor::view(device_view, host.shape(), host.dtype(), Device::Cuda,
                      std::shared_ptr<void>(p, [](void* q) { cudaFreeHost(q); }));
}

Tensor CudaBackend::download(const Tensor& device_tensor) {
  cuda::use_device(*state_);
  cuda::check_that(device_tensor.defined() && device_tensor.device() == Device::Cuda, "download",
                   "device_tensor is not a CUDA tensor");
  Tensor host = Tensor::zeros(device_tensor.shape(), device_tensor.dtype());
  CUDA_CHECK(cudaMemcpyAsync(host.raw(), device_tensor.raw(), host.bytes(), cudaMemcpyDeviceToHost, state_->stream));
  CUDA_CHECK(cudaStreamSynchronize(state_->stream));
  return is_float(host.dtype()) ? host.to_f32() : host;
}

void CudaBackend::copy(const Tensor& src, Tensor& dst) {
  cuda::use_device(*state_);
  cuda::check_tensor(src, src.dtype(), "copy", "src");
  cuda::check_tensor(dst, src.dtype(), "copy", "dst");
  cuda::check_shape(dst, src.shape(), "copy", "dst");
  if (src.bytes() && src.raw() != dst.raw())
    CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), src.bytes(), cudaMemcpyDeviceToDevice, state_->stream));
}

void CudaBackend::copy_many(std::span<const Tensor> src, std::span<Tensor> dst) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "copy_many";
  cuda::check_that(src.size() == dst.size(), op,
                   std::to_string(src.size()) + " sources for " + std::to_string(dst.size()) + " destinations");
  cuda::check_that(!state_->capturing, op, "cannot write its table while capturing a graph");
  std::vector<kernels::CopyEntry> entries;
  std::uint64_t largest = 0;
  for (std::size_t i = 0; i < src.size(); ++i) {
    cuda::check_tensor(src[i], src[i].dtype(), op, "src");
    cuda::check_tensor(dst[i], src[i].dtype(), op, "dst");
    cuda::check_shape(dst[i], src[i].shape(), op, "dst");
    if (!src[i].bytes() || src[i].raw() == dst[i].raw()) continue;
    entries.push_back({src[i].raw(), dst[i].raw(), src[i].bytes()});
    largest = std::max<std::uint64_t>(largest, src[i].bytes());
  }
  if (entries.empty()) return;
  // The table goes through the scratch arena: stream order keeps it from the ops around it.
  const std::size_t table_bytes = entries.size() * sizeof(kernels::CopyEntry);
  auto* table = static_cast<kernels::CopyEntry*>(cuda::scratch(*state_, 0, table_bytes, op));
  CUDA_CHECK(cudaMemcpyAsync(table, entries.data(), table_bytes, cudaMemcpyHostToDevice, state_->stream));
  kernels::copy_many(table, static_cast<int>(entries.size()), largest, state_->stream);
}

void CudaBackend::synchronize() {
  cuda::use_device(*state_);
  CUDA_CHECK(cudaStreamSynchronize(state_->stream));
}

Weight CudaBackend::load_linear(const Tensor& weight, const Tensor* bias, Precision precision) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "load_linear";
  check_host(weight, op, "weight");
  cuda::check_that(weight.rank() == 2, op, "weight has shape " + shape_str(weight.shape()) + ", expected rank 2");
  cuda::check_that(is_float(weight.dtype()), op, "weight dtype " + std::string(dtype_name(weight.dtype())) +
                                                     " is not a float type");
  cuda::check_that(precision != Precision::F32 || state_->activations == DType::F32, op,
                   "F32 weights need CudaBackendOptions::activations F32");
  if (precision == Precision::FP8) {
    const QuantizedWeight q = quantize_e4m3_rows(weight);
    return load_quantized_linear(q.values, q.scales, bias);
  }
  if (const std::optional<Q4Format> q4 = q4_format(precision, weight.dim(1)))
    return load_q4_linear(quantize_q4(weight, *q4), *q4, bias);
  Weight w;
  upload_weight(*this, host_as(weight, precision == Precision::F32 ? DType::F32 : DType::BF16), w);
  w.bias = upload_bias(*this, bias, weight.dim(0), op);
  return w;
}

Weight CudaBackend::load_quantized_linear(const Tensor& values, const Tensor& scales, const Tensor* bias) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "load_quantized_linear";
  check_host(values, op, "values");
  check_host(scales, op, "scales");
  cuda::check_that(values.dtype() == DType::F8_E4M3 && values.rank() == 2, op,
                   "values must be F8_E4M3 [out, in], got " + std::string(dtype_name(values.dtype())) + " " +
                       shape_str(values.shape()));
  cuda::check_that(scales.dtype() == DType::F32 && scales.shape() == Shape{values.dim(0)}, op,
                   "scales must be F32 [" + std::to_string(values.dim(0)) + "], got " +
                       std::string(dtype_name(scales.dtype())) + " " + shape_str(scales.shape()));
  Weight w;
  upload_weight(*this, values, w);
  w.scales = upload_exact(scales);
  w.bias = upload_bias(*this, bias, values.dim(0), op);
  return w;
}

Weight CudaBackend::load_q4_linear(const Q4Weight& q, Q4Format format, const Tensor* bias) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "load_q4_linear";
  check_host(q.codes, op, "codes");
  check_host(q.scales, op, "block scales");
  const std::int64_t out = q.codes.rank() == 2 ? q.codes.dim(0) : 0, in = q.codes.rank() == 2 ? 2 * q.codes.dim(1) : 0;
  cuda::check_that(q.codes.dtype() == DType::U8 && q.codes.rank() == 2 && in % kQ4Block == 0, op,
                   "codes must be U8 [out, in / 2] with in a multiple of " + std::to_string(kQ4Block) + ", got " +
                       std::string(dtype_name(q.codes.dtype())) + " " + shape_str(q.codes.shape()));
  cuda::check_that(q.scales.dtype() == DType::F32 && q.scales.shape() == Shape{out, in / kQ4Block}, op,
                   "block scales must be F32 " + shape_str({out, in / kQ4Block}) + ", got " +
                       std::string(dtype_name(q.scales.dtype())) + " " + shape_str(q.scales.shape()));
  Weight w;
  upload_weight(*this, q.codes, w);
  w.scales = upload_exact(q.scales);
  w.q4 = format;
  w.bias = upload_bias(*this, bias, out, op);
  const std::int64_t widened = std::max(w.stored_rows, out) * in;  // prefill GEMMs
  if (state_->widened.numel() < widened) {
    state_->widened = Tensor();
    state_->widened = alloc({widened}, DType::BF16);
  }
  return w;
}

}  // namespace hs
