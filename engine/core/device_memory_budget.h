// A device-memory budget shared by a checkpoint's backends (--vram_budget_gb): plain counters, no
// CUDA, so the backend factory and the planner's callers hold it in any build.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

namespace hs {

// The most device memory a group of backends (a checkpoint's LM and codec) may hold together:
// their own allocations, the cuBLASLt workspaces included; an allocation that would pass the
// limit throws OutOfMemory instead (--vram_budget_gb). Thread-safe.
class DeviceMemoryBudget {
 public:
  explicit DeviceMemoryBudget(std::size_t limit_bytes) : limit_(limit_bytes) {}
  std::size_t limit() const { return limit_; }
  std::size_t held() const { return held_.load(); }
  std::size_t peak() const { return peak_.load(); }
  // Holds `bytes` more, or throws OutOfMemory naming `what` and holding nothing.
  void take(std::size_t bytes, const std::string& what);
  void give_back(std::size_t bytes) { held_.fetch_sub(bytes); }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> held_{0}, peak_{0};
};

// The cuBLASLt workspace a CUDA backend holds (CudaBackendOptions::gemm_workspace_bytes), counted
// by the device memory plan (engine/pipeline/vram_plan.cpp).
inline constexpr std::size_t kGemmWorkspaceBytes = 32u << 20;

// peak = max(peak, now), without a lock.
void raise_peak(std::atomic<std::size_t>& peak, std::size_t now);

}  // namespace hs
