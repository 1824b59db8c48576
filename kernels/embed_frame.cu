#include "kernels/common.cuh"
#include "kernels/embed_frame.cuh"

namespace hs::kernels {
namespace {
constexpr int kThreads = 256;
}  // namespace

// One block per row; the 9 source rows are resolved once per block.
template <typename Tab, typename T>
static __global__ void embed_frame_kernel(EmbedFrameParams p) {
  await_previous_kernel();
  const std::int64_t r = blockIdx.x;
  __shared__ const Tab* sources[kEmbedColumns];
  __shared__ bool add_uncond;
  if (threadIdx.x < kEmbedColumns) {
    const int c = threadIdx.x;
    const std::int64_t t = p.tokens[r * kEmbedColumns + c];
    const bool on = p.mask[r * kEmbedColumns + c] != 0;
    const Tab* src = nullptr;
    if (on && c < kEmbedAudioColumns && t >= 0 && t < p.audio_vocab)
      src = static_cast<const Tab*>(p.audio_table) + (t + c * p.audio_vocab) * p.dim;
    if (on && c == kEmbedAudioColumns && !p.uncond[r] && t >= 0 && t < p.text_rows)
      src = static_cast<const Tab*>(p.text_table) + t * p.dim;
    if (c == kEmbedAudioColumns) add_uncond = on && p.uncond[r];
    sources[c] = src;
  }
  __syncthreads();
  const T* uncond_text = static_cast<const T*>(p.uncond_text);
  T* y = static_cast<T*>(p.out) + r * p.dim;
#pragma unroll 4  // independent rows' loads in flight together (a decode step's row is latency-bound)
  for (std::int64_t d = threadIdx.x; d < p.dim; d += blockDim.x) {
    float acc = 0.0f;
#pragma unroll
    for (int c = 0; c < kEmbedColumns; ++c)
      if (sources[c]) acc += to_float(sources[c][d]);
    if (add_uncond) acc += to_float(uncond_text[d]);
    y[d] = from_float<T>(acc);
  }
}

void embed_frame(const EmbedFrameParams& p, cudaStream_t stream) {
  if (p.rows == 0) return;
  dispatch_element(p.table_type, [&](auto table_tag) {
    dispatch_element(p.type, [&](auto tag) {
      launch(embed_frame_kernel<decltype(table_tag), decltype(tag)>, static_cast<unsigned>(p.rows), kThreads, stream,
             p);
    });
  });
}

}  // namespace hs::kernels
