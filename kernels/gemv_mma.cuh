// The tensor-core path of gemv (gemv.cuh) for fp8 E4M3 weights (the kernel: gemv_mma_kernel.cuh,
// which 4-bit weights share). fp8 weights are widened to bf16 with integer ops (E4M3 bits placed as bf16 bits
// are the value times 2^-120, exactly; the factor is undone with the per-channel scale), so no
// conversion instruction or scalar FMA runs per weight: the SIMT kernel spent ~40% of its time
// there (H200, 2026-11-25: fp8 frame 5.74 → 5.25 ms). For bf16 weights the same structure was
// slower than the SIMT kernel (frame 7.4 against 6.4 ms), so gemv keeps those. Internal to gemv.cu.
#pragma once

#include <cuda_runtime.h>

#include "kernels/gemv.cuh"

namespace hs::kernels {

// True when the tensor-core path takes p: fp8 weights, in_features a multiple of 64.
bool gemv_mma_supported(const GemvParams& p);
void gemv_mma(const GemvParams& p, cudaStream_t stream);

}  // namespace hs::kernels
