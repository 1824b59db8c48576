// Choosing backends at load time (DESIGN.md "Layers": `device: cuda|cpu`; "Precision"): the names
// the CLI and the daemon accept for the device and the weight precision, what this build and
// machine can run, and the backends a song's two models run on. The language model runs on the
// chosen device; HeartCodec runs on a CpuBackend at fp32 until the codec GPU issue moves it to the
// GPU. Frames cross from the LM to the codec as host data (Frame is a std::array), so the two
// backends need not be the same.
#pragma once

#include <memory>
#include <string_view>

#include "engine/core/backend.h"

namespace hs {

// Where and how the language model computes.
struct BackendChoice {
  Device device = Device::Cpu;           // cpu | cuda
  Precision precision = Precision::F32;  // fp32 | bf16 | fp8: the LM's linear-layer weights
};

// How the caller names the two settings in its messages: "--device" / "--precision" on the command
// line, "model.device" / "model.precision" in the daemon's configuration.
struct BackendOptionNames {
  std::string_view device = "device";
  std::string_view precision = "precision";
};

// "cpu" | "cuda"; InvalidArgument naming the option, the value and the allowed values otherwise.
Device parse_device(std::string_view text, std::string_view option = "device");
// "fp32" | "bf16" | "fp8"; InvalidArgument as parse_device.
Precision parse_precision(std::string_view text, std::string_view option = "precision");
std::string_view device_name(Device device);           // "cpu" | "cuda"
std::string_view precision_name(Precision precision);  // "fp32" | "bf16" | "fp8"

// Whether this build holds the CUDA backend (HEARTSTREAM_CUDA found a toolkit), and whether it
// also sees a CUDA device on this machine.
bool cuda_backend_built();
bool cuda_device_available();

// InvalidArgument, starting with the option's name and value, when `choice` cannot run here: cuda
// in a build without the CUDA backend or on a machine without a CUDA device, or a precision the CPU
// backend does not compute in. Creates no backend (`--check-config` uses it).
void check_backend_choice(const BackendChoice& choice, const BackendOptionNames& names = {});

// The backends of one loaded checkpoint.
struct ModelBackends {
  std::unique_ptr<Backend> lm;     // HeartMuLa's: choice.device (the CUDA backend's defaults: fp32
                                   // activations, bf16 KV cache and GEMV inputs for bf16 / fp8)
  std::unique_ptr<Backend> codec;  // HeartCodec's: a CpuBackend until the codec GPU issue
  Precision lm_precision = Precision::F32;
  Precision codec_precision = Precision::F32;  // the CPU backend computes the codec in fp32
};

// check_backend_choice, then both backends.
ModelBackends make_model_backends(const BackendChoice& choice, const BackendOptionNames& names = {});

}  // namespace hs
