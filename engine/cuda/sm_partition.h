// A stream whose kernels run on a fixed share of the GPU's streaming multiprocessors: a CUDA green
// context (driver API, reached through the runtime's driver entry points, so nothing links
// libcuda). Used for the codec when it shares a GPU with the language model: the LM's frame is a
// chain of short kernels, and each of them otherwise waits for codec blocks to leave the SMs it
// needs (stream priority orders the queue but does not pre-empt running blocks).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

namespace hs::cuda {

class SmPartition {
 public:
  // At least `sms` of device `device`'s SMs (the driver rounds up to its partition granularity: 8
  // on compute capability 9.0) and a non-blocking stream at `priority` on them. InvalidArgument
  // when `sms` is not below the device's SM count; CudaError when the driver has no green contexts
  // (before CUDA 12.4) or refuses the partition.
  SmPartition(int device, int sms, int priority);
  ~SmPartition();
  SmPartition(const SmPartition&) = delete;
  SmPartition& operator=(const SmPartition&) = delete;

  cudaStream_t stream() const { return stream_; }
  int sms() const { return sms_; }              // what the partition holds
  int device_sms() const { return device_sms_; }  // what the device has

 private:
  decltype(&cuGreenCtxDestroy) destroy_;
  CUgreenCtx context_ = nullptr;
  cudaStream_t stream_ = nullptr;
  int sms_ = 0;
  int device_sms_ = 0;
};

}  // namespace hs::cuda
