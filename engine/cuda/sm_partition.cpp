#include "engine/cuda/sm_partition.h"

#include <string>

#include "engine/core/error.h"
#include "kernels/cuda_check.h"

namespace hs::cuda {
namespace {

// The driver's `name` as this toolkit's header declares it (Fn), so asked for at CUDA_VERSION.
template <typename Fn>
Fn driver_function(const char* name) {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(name, &fn, CUDA_VERSION, cudaEnableDefault, &found) != cudaSuccess ||
      found != cudaDriverEntryPointSuccess || !fn)
    throw kernels::CudaError(std::string("the CUDA driver has no ") + name +
                             " (SM partitions need green contexts: CUDA 12.5 or newer)");
  return reinterpret_cast<Fn>(fn);
}

void check(CUresult result, const char* call) {
  if (result == CUDA_SUCCESS) return;
  const char* name = nullptr;
  driver_function<decltype(&cuGetErrorName)>("cuGetErrorName")(result, &name);
  throw kernels::CudaError(std::string(call) + " failed: " + (name ? name : std::to_string(result)));
}

}  // namespace

SmPartition::SmPartition(int device, int sms, int priority)
    : destroy_(driver_function<decltype(&cuGreenCtxDestroy)>("cuGreenCtxDestroy")) {
  CUdevice dev = 0;
  check(driver_function<decltype(&cuDeviceGet)>("cuDeviceGet")(&dev, device), "cuDeviceGet");
  CUdevResource all{};
  check(driver_function<decltype(&cuDeviceGetDevResource)>("cuDeviceGetDevResource")(dev, &all, CU_DEV_RESOURCE_TYPE_SM),
        "cuDeviceGetDevResource");
  device_sms_ = static_cast<int>(all.sm.smCount);
  if (sms <= 0 || sms >= device_sms_)
    throw InvalidArgument("a partition of " + std::to_string(sms) + " SMs: the GPU has " + std::to_string(device_sms_) +
                          "; ask for fewer, or for none to use them all");
  CUdevResource part{};
  unsigned groups = 1;
  check(driver_function<decltype(&cuDevSmResourceSplitByCount)>("cuDevSmResourceSplitByCount")(
            &part, &groups, &all, nullptr, 0, static_cast<unsigned>(sms)),
        "cuDevSmResourceSplitByCount");
  sms_ = static_cast<int>(part.sm.smCount);
  CUdevResourceDesc desc = nullptr;
  check(driver_function<decltype(&cuDevResourceGenerateDesc)>("cuDevResourceGenerateDesc")(&desc, &part, 1),
        "cuDevResourceGenerateDesc");
  CUgreenCtx context = nullptr;
  check(driver_function<decltype(&cuGreenCtxCreate)>("cuGreenCtxCreate")(&context, desc, dev,
                                                                          CU_GREEN_CTX_DEFAULT_STREAM),
        "cuGreenCtxCreate");
  context_ = context;
  CUstream stream = nullptr;
  try {
    check(driver_function<decltype(&cuGreenCtxStreamCreate)>("cuGreenCtxStreamCreate")(
              &stream, context, CU_STREAM_NON_BLOCKING, priority),
          "cuGreenCtxStreamCreate");
  } catch (...) {
    destroy_(context);
    throw;
  }
  stream_ = reinterpret_cast<cudaStream_t>(stream);
}

SmPartition::~SmPartition() {
  cudaStreamSynchronize(stream_);
  cudaStreamDestroy(stream_);
  destroy_(context_);
}

}  // namespace hs::cuda
