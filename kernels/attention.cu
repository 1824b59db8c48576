#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/attention.cuh"
#include "kernels/common.cuh"

namespace hs::kernels {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;
constexpr std::int64_t kTargetBlocks = 1024;       // enough blocks to fill an H100/H200 several times
constexpr std::int64_t kMinKeysPerSplit = 32;
constexpr std::int64_t kMaxSplits = 64;
constexpr int kSmallPairsPerLane = 2;   // head_dim ≤ 128
constexpr int kLargePairsPerLane = 6;   // head_dim ≤ 384
constexpr int kGroupWarps = 8;          // paged_group_kernel
constexpr int kGroupThreads = kGroupWarps * kWarpSize;
constexpr int kMaxGroup = 4;            // query heads per kv head in paged_group_kernel
constexpr int kGroupDims = 8;           // dimensions per lane in paged_group_kernel (16 lanes: ≤ 128)
constexpr int kGroupUnroll = 2;         // keys per half-warp loaded together in paged_group_kernel
constexpr float kLog2e = 1.4426950408889634f;

std::int64_t split_count(const AttentionParams& p) {
  if (p.block_tables) return std::min((p.keys + kPagedKeysPerSplit - 1) / kPagedKeysPerSplit, kMaxSplits);
  const std::int64_t rows = p.batch * p.seq * p.heads;
  const std::int64_t wanted = (kTargetBlocks + rows - 1) / rows;
  const std::int64_t by_keys = (p.keys + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
  return std::clamp<std::int64_t>(std::min(wanted, by_keys), 1, kMaxSplits);
}

__device__ __forceinline__ float2 load_pair(const float* p) { return *reinterpret_cast<const float2*>(p); }
__device__ __forceinline__ float2 load_pair(const __nv_bfloat16* p) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
}
__device__ __forceinline__ float2 load_pair(const __nv_fp8_e4m3* p) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(*reinterpret_cast<const __nv_fp8x2_storage_t*>(p), __NV_E4M3);
  return __half22float2(*reinterpret_cast<const __half2*>(&h));
}

// Eight consecutive values at p (16-byte aligned) as floats: fp32 and bf16 through load_floats, fp8
// through one 8-byte load.
template <typename T>
__device__ __forceinline__ void load8(const T* p, float (&x)[8]) {
  load_floats<T, 8>(p, x);
}
__device__ __forceinline__ void load8(const __nv_fp8_e4m3* p, float (&x)[8]) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  float values[16];  // the vector's upper half is zeros, unused
  unpack_vector<__nv_fp8_e4m3>(make_uint4(raw.x, raw.y, 0u, 0u), values);
#pragma unroll
  for (int i = 0; i < 8; ++i) x[i] = values[i];
}

template <typename KV>
inline constexpr bool kScaled = std::is_same_v<KV, __nv_fp8_e4m3>;

// The (key, value) scales of cache row `key` of kv head kvh: 1 for an unscaled cache.
template <typename KV>
__device__ __forceinline__ float2 kv_scales(const AttentionParams& p, std::int64_t key, std::int64_t kvh) {
  if constexpr (kScaled<KV>) {
    const std::int64_t at = key * p.kv_heads + kvh;
    return make_float2(p.k_scale[at], p.v_scale[at]);
  } else {
    return make_float2(1.0f, 1.0f);
  }
}

}  // namespace

// grid (splits, heads, batch·seq). Each warp walks its share of the split's keys with an online
// softmax (scores in log2 units); the block merges its warps and writes either the final row
// (one split) or the split's (max, sum, unnormalised accumulator) to the workspace.
template <typename Q, typename KV, typename O, int kPairs>
static __global__ void __launch_bounds__(kThreads) attention_kernel(AttentionParams p, int splits) {
  await_previous_kernel();
  constexpr int kMaxDim = kPairs * 2 * kWarpSize;
  __shared__ float warp_acc[kWarps][kMaxDim];
  __shared__ float warp_m[kWarps], warp_l[kWarps];
  const int split = blockIdx.x, h = blockIdx.y;
  const std::int64_t bs = blockIdx.z, b = bs / p.seq, s = bs % p.seq;
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int pairs = static_cast<int>(p.head_dim / 2);
  const std::int64_t kvh = h / (p.heads / p.kv_heads);

  std::int64_t visible = p.positions ? static_cast<std::int64_t>(p.positions[s]) + 1 : p.keys;
  visible = visible < p.keys ? visible : p.keys;
  const std::int32_t* table = nullptr;
  if (p.block_tables) {
    const std::int32_t kv_row = p.kv_rows[s];
    if (kv_row < 0) visible = 0;
    else table = p.block_tables + kv_row * p.table_width;
  }
  const std::int64_t chunk = p.block_tables ? kPagedKeysPerSplit : (visible + splits - 1) / splits;
  // Paged: the splits past the token's keys write nothing (attention_merge_kernel reads the rest),
  // and a token of one split writes its output here.
  const int used = p.block_tables ? static_cast<int>(visible > chunk ? (visible + chunk - 1) / chunk : 1) : splits;
  if (split >= used) return;
  const std::int64_t begin = split * chunk;
  const std::int64_t end = begin + chunk < visible ? begin + chunk : visible;

  const Q* qrow = static_cast<const Q*>(p.q) + ((bs * p.heads) + h) * p.head_dim;
  const float scale = kLog2e * rsqrtf(static_cast<float>(p.head_dim));
  float2 q[kPairs], acc[kPairs];
#pragma unroll
  for (int i = 0; i < kPairs; ++i) {
    const int j = lane + i * kWarpSize;
    q[i] = j < pairs ? load_pair(qrow + 2 * j) : make_float2(0.0f, 0.0f);
    q[i].x *= scale;
    q[i].y *= scale;
    acc[i] = make_float2(0.0f, 0.0f);
  }
  float m = -INFINITY, l = 0.0f;
  const std::int64_t key_stride = p.kv_heads * p.head_dim;
  const KV* kbase = static_cast<const KV*>(p.k) + (b * p.keys * p.kv_heads + kvh) * p.head_dim;
  const KV* vbase = static_cast<const KV*>(p.v) + (b * p.keys * p.kv_heads + kvh) * p.head_dim;
  for (std::int64_t t = begin + warp; t < end; t += kWarps) {
    const std::int64_t key = table ? table[t / p.block_size] * p.block_size + t % p.block_size : t;
    const KV* krow = kbase + key * key_stride;
    const KV* vrow = vbase + key * key_stride;
    float dot = 0.0f;
    float2 vv[kPairs];
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
      const int j = lane + i * kWarpSize;
      if (j < pairs) {
        const float2 kk = load_pair(krow + 2 * j);
        vv[i] = load_pair(vrow + 2 * j);
        dot += q[i].x * kk.x + q[i].y * kk.y;
      } else {
        vv[i] = make_float2(0.0f, 0.0f);
      }
    }
    const float2 kv_scale = kv_scales<KV>(p, b * p.keys + key, kvh);
    const float score = warp_sum(dot) * kv_scale.x;
    const float m_new = fmaxf(m, score);
    const float correction = exp2f(m - m_new);
    const float weight = exp2f(score - m_new);
    l = l * correction + weight;
    const float value_weight = weight * kv_scale.y;
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
      acc[i].x = acc[i].x * correction + value_weight * vv[i].x;
      acc[i].y = acc[i].y * correction + value_weight * vv[i].y;
    }
    m = m_new;
  }
#pragma unroll
  for (int i = 0; i < kPairs; ++i) {
    const int j = lane + i * kWarpSize;
    if (j < pairs) {
      warp_acc[warp][2 * j] = acc[i].x;
      warp_acc[warp][2 * j + 1] = acc[i].y;
    }
  }
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
  __syncthreads();
  float block_m = -INFINITY;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) block_m = fmaxf(block_m, warp_m[w]);
  float weights[kWarps], block_l = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    weights[w] = warp_m[w] == -INFINITY ? 0.0f : exp2f(warp_m[w] - block_m);
    block_l += warp_l[w] * weights[w];
  }
  const std::int64_t row = bs * p.heads + h;
  if (used == 1) {
    O* out = static_cast<O*>(p.out) + row * p.head_dim;
    for (int d = threadIdx.x; d < p.head_dim; d += kThreads) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) sum += warp_acc[w][d] * weights[w];
      out[d] = from_float<O>(block_l > 0.0f ? sum / block_l : 0.0f);
    }
    return;
  }
  float* part = p.workspace + (row * splits + split) * (p.head_dim + 2);
  if (threadIdx.x == 0) {
    part[0] = block_m;
    part[1] = block_l;
  }
  for (int d = threadIdx.x; d < p.head_dim; d += kThreads) {
    float sum = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += warp_acc[w][d] * weights[w];
    part[2 + d] = sum;
  }
}

// Paged decode with grouped-query heads (head_dim a multiple of 8 up to 128, ≤ kMaxGroup query heads
// per kv head, q, k and v 16-byte aligned): grid (blocks, kv_heads, seq). A token's keys fall in
// splits of kPagedKeysPerSplit; block x takes splits x, x + blocks, … of its token (as many as its
// keys fill), so a split's result is the same whichever block computes it. Each half-warp takes one
// key at a time, lane l of the half holding dimensions [8l, 8l + 8) (one vector load of K and one
// of V), and reads it once for the kv head's whole query group; half h of warp w takes keys
// 2w + h + 2·kGroupWarps·i of the split, kGroupUnroll of them loaded before their scores are used.
// The halves merge by shuffles, then the warps per query head as in attention_kernel, into the
// output (a token of one split) or the workspace (attention_merge_kernel).
template <typename Q, typename KV, typename O>
static __global__ void __launch_bounds__(kGroupThreads, 2) paged_group_kernel(AttentionParams p, int splits) {
  await_previous_kernel();
  constexpr int kHalf = kWarpSize / 2, kSlots = 2 * kGroupWarps, kMaxDim = kGroupDims * kHalf;
  __shared__ float warp_acc[kGroupWarps][kMaxGroup][kMaxDim];
  __shared__ float warp_m[kGroupWarps][kMaxGroup], warp_l[kGroupWarps][kMaxGroup];
  const int kvh = blockIdx.y;
  const std::int64_t s = blockIdx.z;
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int half = lane / kHalf, d0 = (lane % kHalf) * kGroupDims;
  const bool holds = d0 < p.head_dim;  // this lane holds dimensions of the head
  const int group = static_cast<int>(p.heads / p.kv_heads);
  const std::int32_t kv_row = p.kv_rows[s];
  std::int64_t visible = kv_row < 0 ? 0 : static_cast<std::int64_t>(p.positions[s]) + 1;
  visible = visible < p.keys ? visible : p.keys;
  const std::int32_t* table = p.block_tables + (kv_row < 0 ? 0 : kv_row) * p.table_width;
  const int used = visible > kPagedKeysPerSplit ? static_cast<int>((visible + kPagedKeysPerSplit - 1) / kPagedKeysPerSplit) : 1;
  const float scale = kLog2e * rsqrtf(static_cast<float>(p.head_dim));
  float q[kMaxGroup][kGroupDims];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g < group && holds) {
      load8(static_cast<const Q*>(p.q) + (s * p.heads + kvh * group + g) * p.head_dim + d0, q[g]);
#pragma unroll
      for (int i = 0; i < kGroupDims; ++i) q[g][i] *= scale;
    } else {
#pragma unroll
      for (int i = 0; i < kGroupDims; ++i) q[g][i] = 0.0f;
    }
  }
  const std::int64_t key_stride = p.kv_heads * p.head_dim;
  const KV* kbase = static_cast<const KV*>(p.k) + kvh * p.head_dim + d0;
  const KV* vbase = static_cast<const KV*>(p.v) + kvh * p.head_dim + d0;
  for (int split = blockIdx.x; split < used; split += gridDim.x) {
    const std::int64_t begin = static_cast<std::int64_t>(split) * kPagedKeysPerSplit;
    const std::int64_t end = begin + kPagedKeysPerSplit < visible ? begin + kPagedKeysPerSplit : visible;
    float acc[kMaxGroup][kGroupDims], m[kMaxGroup], l[kMaxGroup];
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
#pragma unroll
      for (int i = 0; i < kGroupDims; ++i) acc[g][i] = 0.0f;
      m[g] = -INFINITY;
      l[g] = 0.0f;
    }
    // The loop's bounds are the warp's (both halves shuffle in every pass); a half's key past the
    // split's end takes no part.
    for (std::int64_t t0 = begin + 2 * warp; t0 < end; t0 += kSlots * kGroupUnroll) {
      float kk[kGroupUnroll][kGroupDims], vv[kGroupUnroll][kGroupDims];
      float2 kv_scale[kGroupUnroll];
      bool valid[kGroupUnroll];
#pragma unroll
      for (int u = 0; u < kGroupUnroll; ++u) {
        const std::int64_t t = t0 + half + u * kSlots;
        valid[u] = t < end;
        const std::int64_t key =
            valid[u] ? static_cast<std::int64_t>(table[t / p.block_size]) * p.block_size + t % p.block_size : 0;
        if (valid[u] && holds) {
          load8(kbase + key * key_stride, kk[u]);
          load8(vbase + key * key_stride, vv[u]);
        } else {
#pragma unroll
          for (int i = 0; i < kGroupDims; ++i) kk[u][i] = vv[u][i] = 0.0f;
        }
        kv_scale[u] = kv_scales<KV>(p, key, kvh);
      }
#pragma unroll
      for (int g = 0; g < kMaxGroup; ++g) {
        if (g >= group) break;
        float score[kGroupUnroll], m_new = m[g];
#pragma unroll
        for (int u = 0; u < kGroupUnroll; ++u) {
          float dot = 0.0f;
#pragma unroll
          for (int i = 0; i < kGroupDims; ++i) dot += q[g][i] * kk[u][i];
#pragma unroll
          for (int offset = kHalf / 2; offset > 0; offset /= 2) dot += __shfl_xor_sync(kFullMask, dot, offset);
          score[u] = valid[u] ? dot * kv_scale[u].x : -INFINITY;
          m_new = fmaxf(m_new, score[u]);
        }
        const float correction = m_new == -INFINITY ? 1.0f : exp2f(m[g] - m_new);
        l[g] *= correction;
#pragma unroll
        for (int i = 0; i < kGroupDims; ++i) acc[g][i] *= correction;
#pragma unroll
        for (int u = 0; u < kGroupUnroll; ++u) {
          if (!valid[u]) continue;
          const float weight = exp2f(score[u] - m_new);
          l[g] += weight;
          const float value_weight = weight * kv_scale[u].y;
#pragma unroll
          for (int i = 0; i < kGroupDims; ++i) acc[g][i] += value_weight * vv[u][i];
        }
        m[g] = m_new;
      }
    }
    // The warp's two halves into one (m, l, acc) per query head.
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= group) break;
      const float m_other = __shfl_xor_sync(kFullMask, m[g], kHalf), l_other = __shfl_xor_sync(kFullMask, l[g], kHalf);
      const float m_both = fmaxf(m[g], m_other);
      const float mine = m[g] == -INFINITY ? 0.0f : exp2f(m[g] - m_both);
      const float other = m_other == -INFINITY ? 0.0f : exp2f(m_other - m_both);
      l[g] = l[g] * mine + l_other * other;
#pragma unroll
      for (int i = 0; i < kGroupDims; ++i)
        acc[g][i] = acc[g][i] * mine + __shfl_xor_sync(kFullMask, acc[g][i], kHalf) * other;
      m[g] = m_both;
    }
    __syncthreads();  // the previous split's merge has read the shared arrays
    if (half == 0) {
#pragma unroll
      for (int g = 0; g < kMaxGroup; ++g) {
        if (g >= group) break;
        if (holds) {
#pragma unroll
          for (int i = 0; i < kGroupDims; ++i) warp_acc[warp][g][d0 + i] = acc[g][i];
        }
        if (lane == 0) {
          warp_m[warp][g] = m[g];
          warp_l[warp][g] = l[g];
        }
      }
    }
    __syncthreads();
    for (int g = 0; g < group; ++g) {
      float block_m = -INFINITY;
#pragma unroll
      for (int w = 0; w < kGroupWarps; ++w) block_m = fmaxf(block_m, warp_m[w][g]);
      float weights[kGroupWarps], block_l = 0.0f;
#pragma unroll
      for (int w = 0; w < kGroupWarps; ++w) {
        weights[w] = warp_m[w][g] == -INFINITY ? 0.0f : exp2f(warp_m[w][g] - block_m);
        block_l += warp_l[w][g] * weights[w];
      }
      const std::int64_t row = s * p.heads + kvh * group + g;
      float* part = used == 1 ? nullptr : p.workspace + (row * splits + split) * (p.head_dim + 2);
      if (part && threadIdx.x == 0) {
        part[0] = block_m;
        part[1] = block_l;
      }
      for (int d = threadIdx.x; d < p.head_dim; d += kGroupThreads) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kGroupWarps; ++w) sum += warp_acc[w][g][d] * weights[w];
        if (part) part[2 + d] = sum;
        else static_cast<O*>(p.out)[row * p.head_dim + d] = from_float<O>(block_l > 0.0f ? sum / block_l : 0.0f);
      }
    }
  }
}

// grid (batch·seq·heads): merges the splits of one row. Warp 0 weighs the splits (lane s holds
// splits s and s + 32), then every thread sums its dimensions' accumulators over the splits with
// the loads of several splits in flight.
template <typename O>
static __global__ void __launch_bounds__(kThreads) attention_merge_kernel(const float* __restrict__ workspace, O* out,
                                                                         int splits, int head_dim, AttentionParams p) {
  await_previous_kernel();
  static_assert(kMaxSplits <= 2 * kWarpSize && kThreads >= kWarpSize);
  __shared__ float weights[kMaxSplits];
  __shared__ float total;
  const std::int64_t row = blockIdx.x;
  const int stride = head_dim + 2;
  const float* parts = workspace + row * splits * stride;
  if (p.block_tables) {  // paged: only the splits the token's keys fill were written
    const std::int64_t token = row / p.heads;
    std::int64_t visible = p.kv_rows[token] < 0 ? 0 : static_cast<std::int64_t>(p.positions[token]) + 1;
    visible = visible < p.keys ? visible : p.keys;
    splits = static_cast<int>((visible + kPagedKeysPerSplit - 1) / kPagedKeysPerSplit);
    if (splits <= 1) return;  // written by the attention kernel
  }
  if (threadIdx.x < kWarpSize) {
    const int lane = threadIdx.x;
    float m[2], l[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int s = lane + i * kWarpSize;
      m[i] = s < splits ? parts[s * stride] : -INFINITY;
      l[i] = s < splits ? parts[s * stride + 1] : 0.0f;
    }
    const float row_max = warp_max(fmaxf(m[0], m[1]));
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float w = m[i] == -INFINITY ? 0.0f : exp2f(m[i] - row_max);
      if (lane + i * kWarpSize < splits) weights[lane + i * kWarpSize] = w;
      sum += l[i] * w;
    }
    sum = warp_sum(sum);
    if (lane == 0) total = sum;
  }
  __syncthreads();
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float sum = 0.0f;
#pragma unroll 8
    for (int s = 0; s < splits; ++s) sum += parts[s * stride + 2 + d] * weights[s];
    out[row * head_dim + d] = from_float<O>(total > 0.0f ? sum / total : 0.0f);
  }
}

std::int64_t attention_workspace_floats(const AttentionParams& p) {
  const std::int64_t splits = split_count(p);
  return splits == 1 ? 0 : p.batch * p.seq * p.heads * splits * (p.head_dim + 2);
}

void attention(const AttentionParams& p, cudaStream_t stream) {
  const std::int64_t rows = p.batch * p.seq * p.heads;
  if (rows == 0) return;
  if (p.head_dim % 2 != 0 || p.head_dim > kAttentionMaxHeadDim || p.kv_heads <= 0 || p.heads % p.kv_heads != 0 ||
      p.keys <= 0)
    throw CudaError("attention: unsupported shape (head_dim " + std::to_string(p.head_dim) + ", heads " +
                    std::to_string(p.heads) + ", kv_heads " + std::to_string(p.kv_heads) + ", keys " +
                    std::to_string(p.keys) + ")");
  const int splits = static_cast<int>(split_count(p));
  if (splits > 1 && p.workspace == nullptr) throw CudaError("attention: split-KV pass needs a workspace");
  const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch * p.seq));
  const bool small = p.head_dim <= 2 * kSmallPairsPerLane * kWarpSize;
  const auto aligned = [](const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0; };
  const bool grouped = p.block_tables && p.batch == 1 && p.head_dim % kGroupDims == 0 &&
                       p.head_dim <= kGroupDims * kWarpSize / 2 && p.heads / p.kv_heads <= kMaxGroup &&
                       aligned(p.q) && aligned(p.k) && aligned(p.v);
  // Blocks per (query, kv head) sharing its splits: enough blocks for the GPU (a split's result does
  // not depend on which block computes it, so neither does a query's on the batch).
  const std::int64_t group_blocks =
      std::clamp<std::int64_t>((kTargetBlocks + p.seq * p.kv_heads - 1) / (p.seq * p.kv_heads), 1, splits);
  const auto dispatch_kv = [&](auto&& f) {
    if (p.k_scale) f(__nv_fp8_e4m3{});
    else dispatch_element(p.kv_type, f);
  };
  dispatch_element(p.q_type, [&](auto q_tag) {
    dispatch_kv([&](auto kv_tag) {
      dispatch_element(p.out_type, [&](auto out_tag) {
        using Q = decltype(q_tag);
        using KV = decltype(kv_tag);
        using O = decltype(out_tag);
        if (grouped)
          launch(paged_group_kernel<Q, KV, O>,
                 dim3(static_cast<unsigned>(group_blocks), static_cast<unsigned>(p.kv_heads),
                      static_cast<unsigned>(p.seq)),
                 kGroupThreads, stream, p, splits);
        else if (small) launch(attention_kernel<Q, KV, O, kSmallPairsPerLane>, grid, kThreads, stream, p, splits);
        else launch(attention_kernel<Q, KV, O, kLargePairsPerLane>, grid, kThreads, stream, p, splits);
        if (splits > 1) {
          launch(attention_merge_kernel<O>, static_cast<unsigned>(rows), kThreads, stream, p.workspace,
                 static_cast<O*>(p.out), splits, static_cast<int>(p.head_dim), p);
        }
      });
    });
  });
}

}  // namespace hs::kernels
