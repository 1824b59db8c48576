#include "engine/core/device_name.h"

#include <charconv>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::string_view kCpu = "cpu";
constexpr std::string_view kCuda = "cuda";
constexpr std::string_view kCudaPrefix = "cuda:";
constexpr int kMaxCudaDevices = 1024;  // "cuda:N": N below this

}  // namespace

DeviceName parse_device(std::string_view text, std::string_view option) {
  if (text == kCpu) return {Device::Cpu, 0};
  if (text == kCuda) return {Device::Cuda, 0};
  const std::string named = std::string(option) + " '" + std::string(text) + "'";
  if (!text.starts_with(kCudaPrefix)) throw InvalidArgument(named + " is not one of cpu, cuda, cuda:N");
  const std::string_view digits = text.substr(kCudaPrefix.size());
  int index = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0 ||
      index >= kMaxCudaDevices || (digits.size() > 1 && digits.front() == '0'))
    throw InvalidArgument(named + ": expected cuda:N with N a CUDA device number (0, 1, ...)");
  return {Device::Cuda, index};
}

std::string_view device_name(Device device) { return device == Device::Cuda ? kCuda : kCpu; }

std::string device_label(Device device, int index) {
  return device == Device::Cuda && index > 0 ? std::string(kCudaPrefix) + std::to_string(index)
                                             : std::string(device_name(device));
}

}  // namespace hs
