#include "engine/backends/backend_factory.h"

#include <array>
#include <memory>
#include <string>
#include <utility>

#include "engine/cpu/cpu_backend.h"
#ifdef HEARTSTREAM_HAS_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace hs {
namespace {

constexpr std::array<std::pair<std::string_view, Precision>, 5> kPrecisions{{{"fp32", Precision::F32},
                                                                           {"bf16", Precision::BF16},
                                                                           {"fp8", Precision::FP8},
                                                                           {"nf4", Precision::NF4},
                                                                           {"int4", Precision::INT4}}};
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

// A model's backend on `device` (already checked): the LM's CUDA backend with its stream at the
// device's highest priority, the codec's with bf16 tensor-core attention unless it computes in
// fp32 (the parity path); each with its scratch (backend_factory.h). `budget` (null: none) is
// shared by both models' CUDA backends.
std::unique_ptr<Backend> make_backend(DeviceName device, bool codec, Precision precision,
                                      const std::shared_ptr<DeviceMemoryBudget>& budget) {
  if (device.device == Device::Cpu) return std::make_unique<CpuBackend>();
#ifdef HEARTSTREAM_HAS_CUDA
  if (!codec)
    return std::make_unique<CudaBackend>(CudaBackendOptions{
        .device = device.index, .scratch_bytes = kLmScratchBytes, .high_priority = true, .budget = budget});
  return std::make_unique<CudaBackend>(CudaBackendOptions{.device = device.index,
                                                          .scratch_bytes = kCodecScratchBytes,
                                                          .attention_tensor_cores = precision != Precision::F32,
                                                          .budget = budget});
#else
  throw InvalidArgument("this build has no CUDA backend");  // check_backend_choice said so first
#endif
}

}  // namespace

Precision parse_precision(std::string_view text, std::string_view option) {
  return parse_name(kPrecisions, text, option);
}
std::string_view precision_name(Precision precision) { return name_of(kPrecisions, precision); }

bool cuda_backend_built() {
#ifdef HEARTSTREAM_HAS_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef HEARTSTREAM_HAS_CUDA
  return CudaBackend::device_count();
#else
  return 0;
#endif
}

bool cuda_device_available() { return cuda_device_count() > 0; }

std::size_t cuda_free_bytes(int index) {
#ifdef HEARTSTREAM_HAS_CUDA
  return index < cuda_device_count() ? CudaBackend::free_bytes(index) : 0;
#else
  (void)index;
  return 0;
#endif
}

bool cuda_fp8_widened(int index) {
#ifdef HEARTSTREAM_HAS_CUDA
  return index < cuda_device_count() && !CudaBackend::fp8_tensor_cores(index);
#else
  (void)index;
  return false;
#endif
}

Precision BackendChoice::codec_precision_or_default() const {
  if (codec_precision) return *codec_precision;
  if (codec_device_or_default() == device) return is_4bit(precision) ? Precision::FP8 : precision;
  return codec_device_or_default() == Device::Cpu ? kCpuPrecision : Precision::FP8;
}

namespace {

void check_device_precision(DeviceName name, Precision precision, std::string_view device_option,
                            std::string_view precision_option) {
  const Device device = name.device;
  const std::string named = std::string(device_option) + " " + device_label(device, name.index) + ": ";
  if (device == Device::Cuda && !cuda_backend_built())
    throw InvalidArgument(named + "this build has no CUDA backend (configure with -DHEARTSTREAM_CUDA=ON and the CUDA toolkit)");
  if (device == Device::Cuda && !cuda_device_available())
    throw InvalidArgument(named + "no CUDA device found (check the driver, nvidia-smi and CUDA_VISIBLE_DEVICES)");
  if (const int count = cuda_device_count(); device == Device::Cuda && name.index >= count)
    throw InvalidArgument(named + "this machine has " + std::to_string(count) + " CUDA device" +
                          (count == 1 ? " (cuda:0)" : "s (cuda:0 to cuda:" + std::to_string(count - 1) + ")") +
                          " (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
  if (device == Device::Cpu && precision != kCpuPrecision)
    throw InvalidArgument(std::string(precision_option) + " " + std::string(precision_name(precision)) +
                          ": the CPU backend computes in " + std::string(precision_name(kCpuPrecision)) +
                          "; bf16, fp8, nf4 and int4 need " + std::string(device_option) + " cuda");
}

}  // namespace

void check_backend_choice(const BackendChoice& choice, const BackendOptionNames& names) {
  check_device_precision({choice.device, choice.device_index}, choice.precision, names.device, names.precision);
  // The codec's settings are named by their own options only when they were given.
  check_device_precision({choice.codec_device_or_default(), choice.codec_device_index_or_default()},
                         choice.codec_precision_or_default(),
                         choice.codec_device ? names.codec_device : names.device,
                         choice.codec_precision ? names.codec_precision : names.precision);
  if (is_4bit(choice.codec_precision_or_default()))
    throw InvalidArgument(std::string(names.codec_precision) + " " +
                          std::string(precision_name(choice.codec_precision_or_default())) +
                          ": 4-bit weights are for the language model; the codec takes fp32, bf16 or fp8");
}

ModelBackends make_model_backends(const BackendChoice& choice, const BackendOptionNames& names) {
  check_backend_choice(choice, names);
  ModelBackends b;
  b.lm_precision = choice.precision;
  b.codec_precision = choice.codec_precision_or_default();
  if (choice.vram_budget_bytes) b.budget = std::make_shared<DeviceMemoryBudget>(choice.vram_budget_bytes);
  b.lm = make_backend({choice.device, choice.device_index}, false, b.lm_precision, b.budget);
  b.codec = make_backend({choice.codec_device_or_default(), choice.codec_device_index_or_default()}, true,
                         b.codec_precision, b.budget);
  return b;
}

std::unique_ptr<Backend> make_codec_backend(DeviceName device, Precision precision, const BackendOptionNames& names) {
  check_device_precision(device, precision, names.device, names.precision);
  return make_backend(device, true, precision, nullptr);
}

}  // namespace hs
