#include "kernels/launch.cuh"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

namespace hs::kernels {

namespace {

std::atomic<bool>& enabled() {
  static std::atomic<bool> on = [] {
    const char* value = std::getenv("HEARTSTREAM_CUDA_PDL");
    return value == nullptr || std::string_view(value) != "0";
  }();
  return on;
}

}  // namespace

void set_overlapped_launches(bool on) { enabled() = on; }

bool overlapped_launch(const void* kernel) {
  if (!enabled()) return false;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mutex;
  static std::map<std::pair<const void*, int>, bool> known;
  const std::lock_guard lock(mutex);
  const auto [entry, added] = known.try_emplace({kernel, device}, false);
  if (added) {
    int major = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    cudaFuncAttributes attributes{};
    CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
    entry->second = major >= 9 && attributes.ptxVersion >= 90;
  }
  return entry->second;
}

}  // namespace hs::kernels
