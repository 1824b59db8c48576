// The codec ops have no CUDA kernels yet: each throws InvalidArgument naming itself, so a codec
// configured on `device: cuda` fails at its first op with a clear message.
#include <string>

#include "engine/cuda/cuda_backend.h"
#include "engine/core/error.h"

namespace hs {
namespace {
[[noreturn]] void not_on_cuda(const char* op) {
  throw InvalidArgument(std::string(op) + ": codec op not implemented on CUDA yet (run the codec on the CPU backend)");
}
}  // namespace

void CudaBackend::conv1d(const Tensor&, const Tensor&, const Tensor*, const Conv1dParams&, Tensor&) {
  not_on_cuda("conv1d");
}
void CudaBackend::conv_transpose1d(const Tensor&, const Tensor&, const Tensor*, std::int64_t, std::int64_t, Tensor&) {
  not_on_cuda("conv_transpose1d");
}
void CudaBackend::prelu(const Tensor&, const Tensor&, Tensor&) { not_on_cuda("prelu"); }
void CudaBackend::layer_norm(const Tensor&, float, Tensor&) { not_on_cuda("layer_norm"); }
void CudaBackend::modulate(const Tensor&, const Tensor&, const Tensor&, Tensor&) { not_on_cuda("modulate"); }
void CudaBackend::gated_add(const Tensor&, const Tensor&, const Tensor&, Tensor&) { not_on_cuda("gated_add"); }
void CudaBackend::silu(const Tensor&, Tensor&) { not_on_cuda("silu"); }
void CudaBackend::add_row(const Tensor&, const Tensor&, Tensor&) { not_on_cuda("add_row"); }
void CudaBackend::axpby(float, const Tensor&, float, const Tensor&, Tensor&) { not_on_cuda("axpby"); }
void CudaBackend::transpose(const Tensor&, Tensor&) { not_on_cuda("transpose"); }
void CudaBackend::write_columns(const Tensor&, Tensor&, std::int64_t) { not_on_cuda("write_columns"); }
void CudaBackend::read_columns(const Tensor&, std::int64_t, Tensor&) { not_on_cuda("read_columns"); }
void CudaBackend::round_to_grid(const Tensor&, float, Tensor&) { not_on_cuda("round_to_grid"); }
void CudaBackend::repeat_last(const Tensor&, std::int64_t, Tensor&) { not_on_cuda("repeat_last"); }
void CudaBackend::timestep_embedding(const Tensor&, float, float, Tensor&) { not_on_cuda("timestep_embedding"); }
void CudaBackend::crossfade(const Tensor&, const Tensor&, Tensor&) { not_on_cuda("crossfade"); }

}  // namespace hs
