// Row gather: out[n] = table[ids[n] + id_offset], converted from the table's type to out's (bf16
// tables, fp32 rows). Rows outside the table are zero-filled.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct GatherRowsParams {
  const void* table;         // [table_rows, dim], table_type
  const std::int32_t* ids;   // [n], device
  void* out;                 // [n, dim], out_type
  std::int64_t n, table_rows, dim, id_offset;
  ElementType table_type, out_type;
};

void gather_rows(const GatherRowsParams& p, cudaStream_t stream);

}  // namespace hs::kernels
