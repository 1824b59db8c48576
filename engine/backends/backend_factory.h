// Choosing backends at load time (DESIGN.md "Layers": `device: cuda|cpu`; "Precision"): the names
// the CLI and the daemon accept for the device and the weight precision, what this build and
// machine can run, and the backends a song's two models run on. HeartCodec follows the language
// model's device and precision unless told otherwise (a small card can keep the codec on the
// CPU). Frames cross from the LM to the codec as host data (Frame is a std::array), so the two
// backends need not be the same.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "engine/core/backend.h"
#include "engine/core/device_memory_budget.h"
#include "engine/core/device_name.h"

namespace hs {

// Where and how the two models compute.
struct BackendChoice {
  Device device = Device::Cpu;           // cpu | cuda (device_index says which GPU)
  Precision precision = Precision::F32;  // fp32 | bf16 | fp8: the LM's linear-layer weights
  std::optional<Device> codec_device = std::nullopt;  // HeartCodec's device; absent: `device`
  // HeartCodec's linears (its convolutions are bf16 for bf16 and fp8); absent: `precision` when the
  // codec shares the LM's device, else the codec device's default (fp32 on the CPU, fp8 on cuda).
  std::optional<Precision> codec_precision = std::nullopt;
  // The most device memory the two CUDA backends may hold together (their allocations past it are
  // OutOfMemory errors); 0: no limit but the GPU's.
  std::size_t vram_budget_bytes = 0;
  int device_index = 0;        // the LM's CUDA device ordinal ("cuda:1"); 0 on the CPU
  int codec_device_index = 0;  // the codec's, when codec_device is given (else it shares the LM's)

  Device codec_device_or_default() const { return codec_device.value_or(device); }
  int codec_device_index_or_default() const { return codec_device ? codec_device_index : device_index; }
  void set_device(DeviceName name) {
    device = name.device;
    device_index = name.index;
  }
  void set_codec_device(DeviceName name) {
    codec_device = name.device;
    codec_device_index = name.index;
  }
  Precision codec_precision_or_default() const;
};

// How the caller names the settings in its messages: "--device" / "--precision" / "--codec_device"
// / "--codec_precision" on the command line, "model.device" / … in the daemon's configuration.
struct BackendOptionNames {
  std::string_view device = "device";
  std::string_view precision = "precision";
  std::string_view codec_device = "codec_device";
  std::string_view codec_precision = "codec_precision";
};

// "fp32" | "bf16" | "fp8" | "nf4" | "int4"; InvalidArgument as parse_device.
Precision parse_precision(std::string_view text, std::string_view option = "precision");
std::string_view precision_name(Precision precision);  // "fp32" | "bf16" | "fp8" | "nf4" | "int4"

// Whether this build holds the CUDA backend (HEARTSTREAM_CUDA found a toolkit), whether it also
// sees a CUDA device on this machine, and how many (0 without the backend or a device).
bool cuda_backend_built();
bool cuda_device_available();
int cuda_device_count();
// CUDA device `index`'s free memory, and whether its fp8 GEMMs take the portable path (no fp8
// tensor cores, or HEARTSTREAM_CUDA_PORTABLE=1); 0 and false without that device.
std::size_t cuda_free_bytes(int index = 0);
bool cuda_fp8_widened(int index = 0);

// InvalidArgument, starting with the option's name and value, when `choice` cannot run here (for
// either model): cuda in a build without the CUDA backend or on a machine without that CUDA device,
// or a precision the CPU backend does not compute in. Creates no backend (`--check-config` uses it).
void check_backend_choice(const BackendChoice& choice, const BackendOptionNames& names = {});

// The backends of one loaded checkpoint.
struct ModelBackends {
  std::unique_ptr<Backend> lm;     // HeartMuLa's: choice.device (the CUDA backend's defaults: fp32
                                   // activations, bf16 KV cache and GEMV inputs for bf16 / fp8)
  std::unique_ptr<Backend> codec;  // HeartCodec's: its own backend (on cuda: its own stream, and
                                   // tensor-core attention unless fp32)
  Precision lm_precision = Precision::F32;
  Precision codec_precision = Precision::F32;
  std::shared_ptr<DeviceMemoryBudget> budget;  // both CUDA backends' (choice.vram_budget_bytes), or null
};

// check_backend_choice, then both backends.
ModelBackends make_model_backends(const BackendChoice& choice, const BackendOptionNames& names = {});

// HeartCodec's backend alone (`decode`), on `device` at `precision`, checked as above under
// names.device / names.precision.
std::unique_ptr<Backend> make_codec_backend(DeviceName device, Precision precision,
                                            const BackendOptionNames& names = {});

// The CUDA backends' scratch for op temporaries (CudaBackendOptions::scratch_bytes; the device
// memory plan counts them). The LM's holds its GEMMs' fp8 inputs and outputs, which run in passes
// of as many rows as it holds (32 MiB: a CFG prompt of up to ~460 positions in one pass at the 3B
// shapes, 36 kB a row for the SwiGLU stack), and the split-KV attention's partial results (a few
// MB). The codec's largest temporary is the bf16 copy of a 1488 x 8192 DiT activation for the
// offline window (24 MB).
inline constexpr std::size_t kLmScratchBytes = 32u << 20;
inline constexpr std::size_t kCodecScratchBytes = 48u << 20;

}  // namespace hs
