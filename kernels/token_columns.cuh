// dst[r, c] = src[c, r] for src I32 [columns, rows] and dst I32 [rows, width] (Backend::token_columns).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hs::kernels {

void token_columns(const std::int32_t* src, std::int32_t* dst, std::int64_t columns, std::int64_t rows,
                   std::int64_t width, cudaStream_t stream);

}  // namespace hs::kernels
