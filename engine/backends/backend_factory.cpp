#include "engine/backends/backend_factory.h"

#include <array>
#include <string>
#include <utility>

#include "engine/cpu/cpu_backend.h"
#ifdef HEARTSTREAM_HAS_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace hs {
namespace {

constexpr std::array<std::pair<std::string_view, Device>, 2> kDevices{{{"cpu", Device::Cpu}, {"cuda", Device::Cuda}}};
constexpr std::array<std::pair<std::string_view, Precision>, 3> kPrecisions{
    {{"fp32", Precision::F32}, {"bf16", Precision::BF16}, {"fp8", Precision::FP8}}};
// The precision the CPU runs songs at: the fp32 reference. (CpuBackend::load_linear can also
// simulate bf16 / fp8 weights in fp32 arithmetic, for measuring their error in tests; that is as
// slow as fp32 and no use for a song.)
constexpr Precision kCpuPrecision = Precision::F32;

template <typename T, std::size_t N>
T parse_name(const std::array<std::pair<std::string_view, T>, N>& names, std::string_view text,
             std::string_view option) {
  std::string allowed;
  for (const auto& [name, value] : names) {
    if (name == text) return value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  }
  throw InvalidArgument(std::string(option) + " '" + std::string(text) + "' is not one of " + allowed);
}

template <typename T, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, T>, N>& names, T value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "unknown";
}

std::unique_ptr<Backend> make_cuda_backend() {
#ifdef HEARTSTREAM_HAS_CUDA
  return std::make_unique<CudaBackend>();
#else
  throw InvalidArgument("this build has no CUDA backend");  // check_backend_choice said so first
#endif
}

}  // namespace

Device parse_device(std::string_view text, std::string_view option) { return parse_name(kDevices, text, option); }
Precision parse_precision(std::string_view text, std::string_view option) {
  return parse_name(kPrecisions, text, option);
}
std::string_view device_name(Device device) { return name_of(kDevices, device); }
std::string_view precision_name(Precision precision) { return name_of(kPrecisions, precision); }

bool cuda_backend_built() {
#ifdef HEARTSTREAM_HAS_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_device_available() {
#ifdef HEARTSTREAM_HAS_CUDA
  return CudaBackend::device_available();
#else
  return false;
#endif
}

void check_backend_choice(const BackendChoice& choice, const BackendOptionNames& names) {
  const std::string device = std::string(names.device) + " " + std::string(device_name(choice.device)) + ": ";
  if (choice.device == Device::Cuda && !cuda_backend_built())
    throw InvalidArgument(device + "this build has no CUDA backend (configure with -DHEARTSTREAM_CUDA=ON and the CUDA toolkit)");
  if (choice.device == Device::Cuda && !cuda_device_available())
    throw InvalidArgument(device + "no CUDA device found (check the driver, nvidia-smi and CUDA_VISIBLE_DEVICES)");
  if (choice.device == Device::Cpu && choice.precision != kCpuPrecision)
    throw InvalidArgument(std::string(names.precision) + " " + std::string(precision_name(choice.precision)) +
                          ": the CPU backend computes in " + std::string(precision_name(kCpuPrecision)) +
                          "; bf16 and fp8 need " + std::string(names.device) + " cuda");
}

ModelBackends make_model_backends(const BackendChoice& choice, const BackendOptionNames& names) {
  check_backend_choice(choice, names);
  ModelBackends b;
  b.lm_precision = choice.precision;
  b.lm = choice.device == Device::Cuda ? make_cuda_backend() : std::make_unique<CpuBackend>();
  // The codec stays on the CPU in fp32 until the codec GPU issue gives CudaBackend its codec ops.
  b.codec = std::make_unique<CpuBackend>();
  b.codec_precision = kCpuPrecision;
  return b;
}

}  // namespace hs
