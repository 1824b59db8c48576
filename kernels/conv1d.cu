#include "kernels/conv1d.cuh"
#include "kernels/conv_gemm.cuh"

namespace hs::kernels {

// One phase: column t reads x[t·stride + k·dilation − pad_left] for tap k.
void conv1d(const Conv1dParams& p, cudaStream_t stream) {
  ConvGemmParams g{};
  g.x = p.x;
  g.weight = p.weight;
  g.weight_type = p.weight_type;
  g.bias = p.bias;
  g.alpha = p.alpha;
  g.alpha_per_channel = p.alpha_per_channel;
  g.out = p.out;
  g.batch = p.batch;
  g.cin = p.cin;
  g.in_len = p.len;
  g.cout = p.cout;
  g.out_len = p.out_len;
  g.kernel = p.kernel;
  g.phases = 1;
  g.skip = 0;
  g.weight_stride_out = static_cast<std::int64_t>(p.cin) * p.kernel;
  g.weight_stride_in = p.kernel;
  g.in_stride = p.stride;
  g.in_dilation = p.dilation;
  g.in_offset = -p.pad_left;
  conv_gemm(g, stream);
}

}  // namespace hs::kernels
