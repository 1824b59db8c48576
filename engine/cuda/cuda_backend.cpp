#include "engine/cuda/cuda_backend.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "engine/core/device_name.h"
#include "engine/cuda/cuda_state.h"
#include "kernels/cuda_check.h"
#include "kernels/kv_store.cuh"

namespace hs {
namespace {

constexpr int kMinCapability = 80;            // mma.sync bf16, cp.async, ldmatrix (the kernels' newest features)
constexpr int kFp8TensorCoreCapability = 89;  // cuBLASLt's E4M3 GEMMs

}  // namespace

void MemoryCounter::take(std::size_t bytes, const std::string& what) {
  if (budget) budget->take(bytes, what);
  raise_peak(peak, current.fetch_add(bytes) + bytes);
}

void MemoryCounter::release(std::size_t bytes) {
  current.fetch_sub(bytes);
  if (budget) budget->give_back(bytes);
}

CudaBackend::CudaBackend(const CudaBackendOptions& options) : state_(std::make_unique<State>()) {
  if (options.activations != DType::BF16 && options.activations != DType::F32)
    throw InvalidArgument("CudaBackend: activations must be BF16 or F32, got " +
                          std::string(dtype_name(options.activations)));
  if (options.narrow != DType::BF16 && !(options.narrow == DType::F32 && options.activations == DType::F32))
    throw InvalidArgument("CudaBackend: narrow must be BF16, or F32 with F32 activations, got " +
                          std::string(dtype_name(options.narrow)));
  state_->activations = options.activations;
  state_->narrow = options.narrow;
  state_->tables_in_host_memory = options.tables_in_host_memory;
  state_->attention_tensor_cores = options.attention_tensor_cores;
  const char* graphs = std::getenv("HEARTSTREAM_CUDA_GRAPHS");
  state_->graphs = !(graphs && std::string(graphs) == "0");
  state_->device = options.device;
  cuda::use_device(*state_);
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, options.device));
  state_->gpu = std::string(prop.name) + ", compute capability " + std::to_string(prop.major) + "." +
                std::to_string(prop.minor);
  const int capability = 10 * prop.major + prop.minor;
  if (capability < kMinCapability)
    throw InvalidArgument("CudaBackend: the GPU (" + state_->gpu + ") is older than heartstream's CUDA code " +
                          "supports (compute capability 8.0, Ampere, or newer); use --device cpu");
  state_->fp8_tensor_cores = !options.portable && fp8_tensor_cores(options.device);
  int least = 0, greatest = 0;
  CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
  CUDA_CHECK(cudaStreamCreateWithPriority(&state_->stream, cudaStreamNonBlocking,
                                          options.high_priority ? greatest : least));
  // Freed allocations stay in the device's pool for the next ones (CUDA hands them back to the
  // system at each synchronisation otherwise): the pool holds at most the peak of what was live.
  cudaMemPool_t pool = nullptr;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, options.device));
  std::uint64_t keep = UINT64_MAX;
  CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  state_->stream_owner = std::shared_ptr<CUstream_st>(state_->stream, [device = options.device](cudaStream_t s) {
    cuda::use_device(device);
    cudaStreamSynchronize(s);
    cudaStreamDestroy(s);
  });
  state_->memory->budget = options.budget;
  state_->memory->take(options.gemm_workspace_bytes, "the cuBLASLt workspace");
  try {
    state_->lt = std::make_unique<kernels::LtMatmul>(options.gemm_workspace_bytes);
  } catch (...) {
    state_->memory->release(options.gemm_workspace_bytes);
    throw;
  }
  state_->scratch = alloc({static_cast<std::int64_t>(options.scratch_bytes)}, DType::U8);
}

CudaBackend::~CudaBackend() {
  if (state_->stream) {
    cuda::use_device(*state_);
    cudaStreamSynchronize(state_->stream);
    state_->scratch = Tensor();
    state_->widened = Tensor();
    if (state_->lt) state_->memory->release(state_->lt->workspace_bytes());
    state_->lt.reset();
    state_->stream_owner.reset();
  }
}

int CudaBackend::device_count() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

bool CudaBackend::fp8_tensor_cores(int device) {
  int major = 0, minor = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  const char* portable = std::getenv("HEARTSTREAM_CUDA_PORTABLE");
  return 10 * major + minor >= kFp8TensorCoreCapability && !(portable && std::string(portable) == "1");
}

std::size_t CudaBackend::free_bytes(int device) {
  cuda::use_device(device);
  std::size_t free = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

std::string CudaBackend::name() const { return device_label(Device::Cuda, state_->device); }
DType CudaBackend::activation_dtype() const { return state_->activations; }
DType CudaBackend::narrow_dtype(Precision weights) const {
  return weights == Precision::F32 ? state_->activations : state_->narrow;
}
DType CudaBackend::gemm_input_dtype(Precision weights) const {
  return weights == Precision::FP8 && state_->fp8_tensor_cores ? DType::F8_E4M3 : narrow_dtype(weights);
}
std::string CudaBackend::details() const { return state_->gpu + ", fp8 GEMMs: " + gemm_path(); }
std::string CudaBackend::gemm_path() const {
  return state_->fp8_tensor_cores ? "fp8 tensor cores" : "portable (fp8 widened to bf16)";
}
std::size_t CudaBackend::allocated_bytes() const { return state_->memory->current.load(); }
std::size_t CudaBackend::peak_allocated_bytes() const { return state_->memory->peak.load(); }

namespace cuda {

void use_device(int device) {
  int current = -1;
  CUDA_CHECK(cudaGetDevice(&current));
  if (current != device) CUDA_CHECK(cudaSetDevice(device));
}

kernels::ElementType element_type(DType dtype, std::string_view op, std::string_view arg) {
  if (dtype == DType::F32) return kernels::ElementType::F32;
  if (dtype == DType::BF16) return kernels::ElementType::BF16;
  throw InvalidArgument(std::string(op) + ": " + std::string(arg) + " has dtype " + std::string(dtype_name(dtype)) +
                        ", expected F32 or BF16");
}

void check_tensor(const Tensor& t, DType dtype, std::string_view op, std::string_view arg) {
  const std::string name = std::string(op) + ": " + std::string(arg);
  if (!t.defined()) throw InvalidArgument(name + " is undefined");
  if (t.device() != Device::Cuda) throw InvalidArgument(name + " is not a CUDA tensor");
  if (t.dtype() != dtype)
    throw InvalidArgument(name + " has dtype " + std::string(dtype_name(t.dtype())) + ", expected " +
                          std::string(dtype_name(dtype)));
}

void check_shape(const Tensor& t, const Shape& shape, std::string_view op, std::string_view arg) {
  if (t.shape() != shape)
    throw InvalidArgument(std::string(op) + ": " + std::string(arg) + " has shape " + shape_str(t.shape()) +
                          ", expected " + shape_str(shape));
}

void check_that(bool cond, std::string_view op, const std::string& what) {
  if (!cond) throw InvalidArgument(std::string(op) + ": " + what);
}

void check_act_or_narrow(const CudaBackend::State& s, const Tensor& t, std::string_view op, std::string_view arg) {
  check_that(t.defined() && (t.dtype() == s.activations || t.dtype() == s.narrow), op,
             std::string(arg) + " must be in the activation or the narrow dtype");
  check_tensor(t, t.dtype(), op, arg);
}

void check_scaled(const CudaBackend::State& s, const ScaledTensor& t, std::string_view op, std::string_view arg) {
  if (!t.fp8()) return check_act_or_narrow(s, t.data, op, arg);
  check_tensor(t.data, DType::F8_E4M3, op, arg);
  Shape scale_shape = t.data.shape();
  check_that(!scale_shape.empty(), op, std::string(arg) + " must have a vector dimension");
  scale_shape.pop_back();
  check_tensor(t.scale, DType::F32, op, std::string(arg) + " scale");
  check_shape(t.scale, scale_shape, op, std::string(arg) + " scale");
}

void check_kv(const CudaBackend::State& s, const ScaledTensor& k, const ScaledTensor& v, std::string_view op,
              std::string_view what) {
  const std::string k_name = std::string(what) + " keys", v_name = std::string(what) + " values";
  check_scaled(s, k, op, k_name);
  check_scaled(s, v, op, v_name);
  check_tensor(v.data, k.data.dtype(), op, v_name + " (the keys' dtype)");
}

void read_kv(kernels::AttentionParams& p, const ScaledTensor& k, const ScaledTensor& v, std::string_view op) {
  p.k = k.data.raw();
  p.v = v.data.raw();
  p.kv_type = k.fp8() ? kernels::ElementType::BF16 : element_type(k.data.dtype(), op, "the cache's keys");
  p.k_scale = k.fp8() ? static_cast<const float*>(k.scale.raw()) : nullptr;
  p.v_scale = k.fp8() ? static_cast<const float*>(v.scale.raw()) : nullptr;
}

void store_kv_fp8(const CudaBackend::State& s, const ScaledTensor& cache, const Tensor& src, const Tensor& positions,
                  const Tensor* slots, std::int64_t batch, std::int64_t capacity, std::string_view op) {
  kernels::KvStoreParams p{cache.data.raw(), src.raw(), static_cast<const std::int32_t*>(positions.raw()), batch,
                           src.dim(0) / batch, capacity, src.dim(1), element_type(src.dtype(), op, "src"),
                           kernels::ElementType::BF16};
  p.scale = static_cast<float*>(cache.scale.raw());
  p.head_dim = cache.data.dim(-1);
  if (slots) p.slots = static_cast<const std::int32_t*>(slots->raw());
  kernels::kv_store(p, s.stream);
}

void* scratch(const CudaBackend::State& s, std::size_t offset, std::size_t bytes, std::string_view op) {
  constexpr std::size_t kAlign = 256;
  offset = (offset + kAlign - 1) / kAlign * kAlign;
  check_that(offset + bytes <= s.scratch.bytes(), op,
             "needs " + std::to_string(offset + bytes) + " bytes of scratch, the backend has " +
                 std::to_string(s.scratch.bytes()) + " (CudaBackendOptions::scratch_bytes)");
  return static_cast<char*>(s.scratch.raw()) + offset;
}

}  // namespace cuda
}  // namespace hs
