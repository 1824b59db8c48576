// Residual add: out = a + b, elementwise in fp32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

struct AddParams {
  const void* a;
  const void* b;
  void* out;  // may alias a or b
  std::int64_t n;
  ElementType type;
};

void add(const AddParams& p, cudaStream_t stream);

}  // namespace hs::kernels
