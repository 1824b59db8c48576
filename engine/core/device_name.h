// Devices as the CLI and the daemon name them: "cpu", "cuda" (the first GPU: cuda:0) or "cuda:N"
// (the CUDA device ordinal N, as CUDA_VISIBLE_DEVICES numbers them). Whether GPU N exists is the
// backend factory's question (engine/backends/backend_factory.h check_backend_choice).
#pragma once

#include <string>
#include <string_view>

#include "engine/core/tensor.h"

namespace hs {

struct DeviceName {
  Device device = Device::Cpu;
  int index = 0;  // the CUDA device ordinal; 0 on the CPU
  bool operator==(const DeviceName&) const = default;
};

// "cpu" | "cuda" | "cuda:N"; InvalidArgument naming the option, the value and the allowed values
// otherwise.
DeviceName parse_device(std::string_view text, std::string_view option = "device");
std::string_view device_name(Device device);  // "cpu" | "cuda"
// "cpu", "cuda" (index 0) or "cuda:N": what parse_device reads back.
std::string device_label(Device device, int index);

}  // namespace hs
