#include "engine/core/device_memory_budget.h"

#include <cstdio>

#include "engine/core/error.h"

namespace hs {

void raise_peak(std::atomic<std::size_t>& peak, std::size_t now) {
  std::size_t seen = peak.load();
  while (now > seen && !peak.compare_exchange_weak(seen, now)) {
  }
}

void DeviceMemoryBudget::take(std::size_t bytes, const std::string& what) {
  const std::size_t now = held_.fetch_add(bytes) + bytes;
  if (now > limit_) {
    held_.fetch_sub(bytes);
    constexpr double kGb = 1e9;
    char text[256];
    std::snprintf(text, sizeof text, "device memory budget: %s of %.3f GB would hold %.3f GB, over the budget of %.3f GB",
                  what.c_str(), static_cast<double>(bytes) / kGb, static_cast<double>(now) / kGb,
                  static_cast<double>(limit_) / kGb);
    throw OutOfMemory(std::string(text) + " (--vram_budget_gb / model.vram_budget_gb: a larger budget, a shorter "
                                          "song, fewer songs or a smaller precision)");
  }
  raise_peak(peak_, now);
}

}  // namespace hs
