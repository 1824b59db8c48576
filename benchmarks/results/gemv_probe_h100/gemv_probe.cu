// Where the fp8 decode GEMV loses bandwidth (H200/H100). For each decode shape [N, K] (fp8, M = 2):
// (1) a flat grid-stride read of the same bytes (the read ceiling), (2) the GEMV's own read pattern
// without its math (blocks of 8 weight rows, W warps taking every W-th 64-byte chunk, U 16-byte
// vectors in flight per lane), one block per row group or persistent blocks looping over them,
// (3) the real kernel (hs::kernels::gemv, fp8 tensor-core path). Each figure: 60 launches in a CUDA
// graph over rotating weight copies (>= 256 MB, so L2 holds none), microseconds per launch.
#include <cuda_runtime.h>
#include <cuda_bf16.h>

#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "kernels/gemv.cuh"
#include "kernels/launch.cuh"

using hs::kernels::await_previous_kernel;
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { std::printf("%s: %s\n", #x, cudaGetErrorString(e)); std::exit(1); } } while (0)

__device__ __forceinline__ uint4 lds(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}

__global__ void read_flat(const uint4* w, std::int64_t n16, unsigned* sink) {
  await_previous_kernel();
  unsigned acc = 0;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  for (; i + 7 * stride < n16; i += 8 * stride) {
    uint4 v[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) v[u] = lds(w + i + u * stride);
#pragma unroll
    for (int u = 0; u < 8; ++u) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  for (; i < n16; i += stride) { const uint4 v = lds(w + i); acc ^= v.x ^ v.y ^ v.z ^ v.w; }
  if (acc == 0x12345678u) sink[0] = acc;
}

// The GEMV's pattern: row group = 8 rows; lane (g, t) reads row g, bytes 64c + 16t of chunk c.
template <int W, int U>
__global__ void __launch_bounds__(W * 32) read_gemv(const std::uint8_t* w, std::int64_t n, std::int64_t k, int persistent, unsigned* sink) {
  await_previous_kernel();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  const std::int64_t chunks = k / 64, groups = n / 8;
  unsigned acc = 0;
  for (std::int64_t grp = blockIdx.x; grp < groups; grp += persistent ? gridDim.x : groups) {
    const uint4* row = reinterpret_cast<const uint4*>(w + (grp * 8 + g) * k);
    for (std::int64_t c0 = warp; c0 < chunks; c0 += W * U) {
      uint4 v[U];
#pragma unroll
      for (int u = 0; u < U; ++u) { const std::int64_t c = c0 + u * W; v[u] = c < chunks ? lds(row + c * 4 + t) : uint4{}; }
#pragma unroll
      for (int u = 0; u < U; ++u) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
  }
  if (acc == 0x12345678u) sink[0] = acc;
}

template <int kMin, int kU, int kWarps>
void capped_gemv(const hs::kernels::GemvParams& p, cudaStream_t s);

struct Shape { const char* name; std::int64_t n, k; };

template <typename F>
float time_graph(cudaStream_t s, int copies, F launch_one) {
  cudaGraph_t graph; cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < 60; ++i) launch_one(i % copies);
  CK(cudaStreamEndCapture(s, &graph));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  CK(cudaGraphLaunch(exec, s)); CK(cudaStreamSynchronize(s));
  cudaEvent_t a, b; CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int r = 0; r < 7; ++r) {
    CK(cudaEventRecord(a, s)); CK(cudaGraphLaunch(exec, s)); CK(cudaEventRecord(b, s)); CK(cudaEventSynchronize(b));
    float m; CK(cudaEventElapsedTime(&m, a, b)); ms.push_back(m);
  }
  std::sort(ms.begin(), ms.end());
  CK(cudaGraphExecDestroy(exec)); CK(cudaGraphDestroy(graph));
  return ms[ms.size() / 2] * 1000.0f / 60.0f;  // us per launch, median of 7
}

int main() {
  cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s, %d SMs\n", prop.name, prop.multiProcessorCount);
  const int sms = prop.multiProcessorCount;
  cudaStream_t s; CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  unsigned* sink; CK(cudaMalloc(&sink, 4));
  const Shape shapes[] = {{"w1w3 16384x3072", 16384, 3072}, {"w2 3072x8192", 3072, 8192}, {"qkv 5120x3072", 5120, 3072},
                          {"o 3072x3072", 3072, 3072}, {"head 8197x3072", 8192, 3072}};
  for (const Shape& sh : shapes) {
    const std::int64_t bytes = sh.n * sh.k;
    const int copies = static_cast<int>((256ll << 20) / bytes + 1);
    std::vector<std::uint8_t*> w(copies);
    std::vector<float*> scales(copies);
    for (auto& p : w) { CK(cudaMalloc(&p, bytes)); CK(cudaMemset(p, 0x11, bytes)); }
    for (auto& p : scales) { CK(cudaMalloc(&p, sh.n * 4)); CK(cudaMemset(p, 0, sh.n * 4)); }
    __nv_bfloat16* x; float* out; CK(cudaMalloc(&x, 4 * sh.k * 2)); CK(cudaMemset(x, 0, 4 * sh.k * 2));
    CK(cudaMalloc(&out, 4 * sh.n * 4));
    const auto gbs = [&](float us) { return bytes / (us * 1e3); };
    std::printf("\n%s (%.1f MB)\n", sh.name, bytes / 1e6);
    for (int mult : {4, 8, 16}) {
      const float us = time_graph(s, copies, [&](int i) {
        hs::kernels::launch(read_flat, sms * mult, 256, s, reinterpret_cast<const uint4*>(w[i]), bytes / 16, sink); });
      std::printf("  read_flat %2d blocks/SM x 256      %7.2f us %7.0f GB/s\n", mult, us, gbs(us));
    }
    // blocks_per_sm > 0: dynamic shared memory that lets at most that many blocks share an SM (the
    // occupancy the real kernel's registers allow).
    const auto pattern = [&](auto kernel, const char* name, int warps, int persistent_per_sm, int blocks_per_sm = 0) {
      const unsigned grid = persistent_per_sm ? sms * persistent_per_sm : sh.n / 8;
      const std::size_t smem = blocks_per_sm ? (220u << 10) / blocks_per_sm : 0;
      const float us = time_graph(s, copies, [&](int i) {
        hs::kernels::launch_shared(kernel, grid, warps * 32, smem, s, static_cast<const std::uint8_t*>(w[i]), sh.n, sh.k, persistent_per_sm, sink); });
      std::printf("  %-14s %s %2d blocks/SM  %7.2f us %7.0f GB/s\n", name, persistent_per_sm ? "persistent" : "per group ", blocks_per_sm, us, gbs(us));
    };
    pattern(read_gemv<4, 8>, "gemv W4 U8", 4, 0, 7);
    pattern(read_gemv<4, 8>, "gemv W4 U8", 4, 0, 5);
    pattern(read_gemv<8, 8>, "gemv W8 U8", 8, 0, 3);
    pattern(read_gemv<4, 8>, "gemv W4 U8", 4, 0);
    pattern(read_gemv<8, 8>, "gemv W8 U8", 8, 0);
    pattern(read_gemv<4, 16>, "gemv W4 U16", 4, 0);
    pattern(read_gemv<8, 4>, "gemv W8 U4", 8, 0);
    pattern(read_gemv<4, 8>, "gemv W4 U8", 4, 5);
    pattern(read_gemv<8, 8>, "gemv W8 U8", 8, 3);
    pattern(read_gemv<8, 4>, "gemv W8 U4", 8, 4);
    for (bool gated : {false, true}) {
      if (gated && sh.n != 16384) continue;
      const auto params = [&](int i) {  // M = 2 rows, bf16 x, fp32 out
        hs::kernels::GemvParams p{};
        p.x = x; p.weight = w[i]; p.scales = scales[i]; p.bias = nullptr;
        p.out[0] = out; p.widths[0] = gated ? sh.n / 2 : sh.n;
        p.rows = 2; p.in = sh.k; p.out_features = sh.n;
        p.activation = hs::kernels::ElementType::BF16; p.weight_type = hs::kernels::WeightType::FP8;
        p.out_type = hs::kernels::ElementType::F32; p.accumulate = false; p.gated = gated;
        return p;
      };
      const float us = time_graph(s, copies, [&](int i) { hs::kernels::gemv(params(i), s); });
      std::printf("  gemv (real, M=2%s)                %7.2f us %7.0f GB/s\n", gated ? ", gated" : "", us, gbs(us));
      const auto capped = [&](auto fn, const char* name) {
        const float c = time_graph(s, copies, [&](int i) { fn(params(i), s); });
        std::printf("    capped %-28s %7.2f us %7.0f GB/s\n", name, c, gbs(c));
      };
      capped(capped_gemv<1, 8, 4>, "W4 U8 min1 (as real)");
      capped(capped_gemv<8, 8, 4>, "W4 U8 min8 (64 regs)");
      capped(capped_gemv<10, 8, 4>, "W4 U8 min10 (51 regs)");
      capped(capped_gemv<12, 4, 4>, "W4 U4 min12 (42 regs)");
      capped(capped_gemv<4, 8, 8>, "W8 U8 min4 (64 regs)");
      capped(capped_gemv<5, 4, 8>, "W8 U4 min5 (51 regs)");
    }
    for (auto p : w) CK(cudaFree(p));
    for (auto p : scales) CK(cudaFree(p));
    CK(cudaFree(x)); CK(cudaFree(out));
  }
  return 0;
}
