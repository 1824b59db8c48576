// Row gather: out[n] = table[ids[n] + id_offset] for any element size (rows copied as 16-bit
// words, so a row must be a multiple of 2 bytes). Rows outside the table are zero-filled.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace hs::kernels {

struct GatherRowsParams {
  const void* table;         // [table_rows, row_bytes]
  const std::int32_t* ids;   // [n], device
  void* out;                 // [n, row_bytes]
  std::int64_t n, table_rows, row_bytes, id_offset;
};

void gather_rows(const GatherRowsParams& p, cudaStream_t stream);

}  // namespace hs::kernels
