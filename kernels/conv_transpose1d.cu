#include "kernels/conv_gemm.cuh"
#include "kernels/conv_transpose1d.cuh"

namespace hs::kernels {

// Phase p = j mod stride, column q = j div stride: tap p + t·stride of weight [c, o, ·] meets
// x[q − t] (in_stride 1, in_dilation −1).
void conv_transpose1d(const ConvTranspose1dParams& p, cudaStream_t stream) {
  ConvGemmParams g{};
  g.x = p.x;
  g.weight = p.weight;
  g.weight_type = p.weight_type;
  g.bias = p.bias;
  g.alpha = nullptr;
  g.alpha_per_channel = false;
  g.out = p.out;
  g.batch = p.batch;
  g.cin = p.cin;
  g.in_len = p.len;
  g.cout = p.cout;
  g.out_len = p.out_len;
  g.kernel = p.kernel;
  g.phases = p.stride;
  g.skip = p.skip;
  g.weight_stride_out = p.kernel;
  g.weight_stride_in = static_cast<std::int64_t>(p.cout) * p.kernel;
  g.in_stride = 1;
  g.in_dilation = -1;
  g.in_offset = 0;
  conv_gemm(g, stream);
}

}  // namespace hs::kernels
