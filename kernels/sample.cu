#include <string>

#include "kernels/common.cuh"
#include "kernels/sample.cuh"

namespace hs::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr int kRadixBits = 8;
constexpr int kRadixBins = 1 << kRadixBits;
constexpr int kKeyBits = 32;

// Order-preserving map of a float to an unsigned key (larger float → larger key).
__device__ __forceinline__ std::uint32_t order_key(float v) {
  const std::uint32_t bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
__device__ __forceinline__ float key_value(std::uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

struct Best {
  double score;
  int index;
};

// Larger score wins; ties go to the lower index (the CPU scans upwards with a strict '>').
__device__ __forceinline__ Best better(Best a, Best b) {
  if (b.index < 0) return a;
  if (a.index < 0) return b;
  if (b.score > a.score || (b.score == a.score && b.index < a.index)) return b;
  return a;
}

__device__ Best block_best(Best mine) {
  __shared__ Best partial[kWarpSize];
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    Best other{__shfl_xor_sync(kFullMask, mine.score, offset), __shfl_xor_sync(kFullMask, mine.index, offset)};
    mine = better(mine, other);
  }
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  __syncthreads();
  if (lane == 0) partial[warp] = mine;
  __syncthreads();
  Best result = partial[0];
  for (int w = 1; w < static_cast<int>(blockDim.x / kWarpSize); ++w) result = better(result, partial[w]);
  return result;
}

// The k-th largest of vals[0..n) (k in 1..n), by 4 passes of 8-bit radix select.
__device__ float kth_largest(const float* vals, int n, int k) {
  __shared__ unsigned hist[kRadixBins];
  __shared__ std::uint32_t prefix_shared;
  __shared__ int remaining_shared;
  std::uint32_t prefix = 0, mask = 0;
  if (threadIdx.x == 0) remaining_shared = k;
  for (int shift = kKeyBits - kRadixBits; shift >= 0; shift -= kRadixBits) {
    for (int b = threadIdx.x; b < kRadixBins; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const std::uint32_t key = order_key(vals[i]);
      if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & (kRadixBins - 1)], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int remaining = remaining_shared;
      int bin = kRadixBins - 1;
      for (; bin > 0; --bin) {
        if (static_cast<int>(hist[bin]) >= remaining) break;
        remaining -= static_cast<int>(hist[bin]);
      }
      remaining_shared = remaining;
      prefix_shared = prefix | (static_cast<std::uint32_t>(bin) << shift);
    }
    __syncthreads();
    prefix = prefix_shared;
    mask |= static_cast<std::uint32_t>(kRadixBins - 1) << shift;
  }
  return key_value(prefix);
}

}  // namespace

template <typename T>
static __global__ void __launch_bounds__(kThreads) sample_kernel(SampleParams p) {
  extern __shared__ float vals[];
  const int vocab = static_cast<int>(p.vocab);
  const T* cond = static_cast<const T*>(p.logits);
  const std::uint64_t seed = static_cast<std::uint64_t>(p.rng[0]);
  const std::uint64_t counter = static_cast<std::uint64_t>(p.rng[1]);
  Best top{-INFINITY, -1};
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    float v = to_float(cond[i]);
    if (p.rows == 2) {
      const float u = to_float(cond[vocab + i]);
      v = __fadd_rn(u, __fmul_rn(__fsub_rn(v, u), p.cfg_scale));  // no FMA: the CPU rounds twice
    }
    vals[i] = v;
    if (p.guided) static_cast<T*>(p.guided)[i] = from_float<T>(v);
    top = better(top, Best{v, i});
  }
  const Best argmax = block_best(top);
  int chosen = argmax.index;
  if (p.temperature > 0.0f) {
    const int k = p.topk < vocab ? p.topk : vocab;
    const float threshold = kth_largest(vals, vocab, k);
    const float max_logit = vals[argmax.index];
    Best mine{-INFINITY, -1};
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      if (!(vals[i] >= threshold)) continue;
      const float e = exponential_variate(seed, counter, static_cast<std::uint64_t>(i));
      const double score = static_cast<double>(vals[i] - max_logit) / p.temperature - log(static_cast<double>(e));
      mine = better(mine, Best{score, i});
    }
    chosen = block_best(mine).index;
  }
  if (threadIdx.x == 0) {
    p.token[0] = chosen;
    p.rng[1] = static_cast<std::int64_t>(counter + 1);
  }
}

void sample(const SampleParams& p, cudaStream_t stream) {
  if (p.vocab <= 0 || p.vocab > kSampleMaxVocab || (p.rows != 1 && p.rows != 2) || p.topk < 1)
    throw CudaError("sample: unsupported vocab " + std::to_string(p.vocab) + ", rows " + std::to_string(p.rows) +
                    " or topk " + std::to_string(p.topk) + " (vocab ≤ " + std::to_string(kSampleMaxVocab) + ")");
  const std::size_t smem = static_cast<std::size_t>(p.vocab) * sizeof(float);
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    sample_kernel<T><<<1, kThreads, smem, stream>>>(p);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace hs::kernels
