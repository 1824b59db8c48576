// One block of 1024 threads; thread t holds the combined logits i = t + j·1024 (j < kItems) in
// registers, as order-preserving keys. Steps: the argmax; the k-th largest key by radix select
// (11-bit digits: a shared histogram per pass, counted while loading for the first, and a
// block-wide suffix scan of the bins; usually two passes); the scored argmax over the kept values,
// one kept value per thread.
//
// Bit-identical to the former single-loop kernel, NaNs included: the argmaxes fold in the same
// order (each thread upwards in i, a butterfly per warp, then the warps upwards), and the k-th
// largest key is unique. Cost on the H200 is mostly instructions issued (every thread's work is
// paid once per warp, 8 warps per scheduler) and barriers: ~7.5 µs for vocab 8197, topk 50.
#include <string>

#include "kernels/common.cuh"
#include "kernels/sample.cuh"

namespace hs::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / kWarpSize;
constexpr int kItems = static_cast<int>((kSampleMaxVocab + kThreads - 1) / kThreads);
constexpr int kKeyBits = 32;
constexpr int kDigitBits = 11;
constexpr int kBins = 1 << kDigitBits;
constexpr int kBinsPerThread = kBins / kThreads;  // thread t scans bins [t·kBinsPerThread, …)
constexpr int kPasses = (kKeyBits + kDigitBits - 1) / kDigitBits;
constexpr int kFirstShift = (kPasses - 1) * kDigitBits;  // the first digit is key >> kFirstShift
static_assert(kBins % kThreads == 0, "the bins split evenly over the threads");
static_assert(kWarps <= kWarpSize, "one warp finishes the cross-warp steps");
constexpr unsigned kListSize = kBins / 2;  // kept values scored one per thread
static_assert(kListSize == kThreads, "one listed value per thread");
static_assert(kItems <= 32, "the kept values of a thread are a 32-bit mask");

// Order-preserving map of a float to an unsigned key (larger float → larger key), and back.
__device__ __forceinline__ std::uint32_t order_key(float v) {
  const std::uint32_t bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
__device__ __forceinline__ float key_value(std::uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

template <typename S>
struct Best {
  S score;
  int index;  // −1: none
};

// Larger score wins; ties go to the lower index (the CPU scans upwards with a strict '>').
template <typename S>
__device__ __forceinline__ Best<S> better(Best<S> a, Best<S> b) {
  const bool b_wins =
      b.index >= 0 && (a.index < 0 || b.score > a.score || (b.score == a.score && b.index < a.index));
  return b_wins ? b : a;
}

template <typename S>
__device__ __forceinline__ Best<S> warp_best(Best<S> mine) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const Best<S> other{__shfl_xor_sync(kFullMask, mine.score, offset), __shfl_xor_sync(kFullMask, mine.index, offset)};
    mine = better(mine, other);
  }
  return mine;
}

// The best over the block, for every thread: a butterfly per warp, then what folding the warps'
// results upwards with better() gives. That fold is a plain maximum except for NaN scores (which
// never win a comparison): a NaN wins only as the first valid result. One warp finishes.
template <typename S>
__device__ Best<S> block_best(Best<S> mine) {
  __shared__ Best<S> partial[kWarps];
  __shared__ Best<S> result;
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  mine = warp_best(mine);
  if (lane == 0) partial[warp] = mine;
  __syncthreads();
  if (warp == 0) {
    const Best<S> own = lane < kWarps ? partial[lane] : Best<S>{S{}, -1};
    const unsigned valid = __ballot_sync(kFullMask, own.index >= 0);
    const int first = valid != 0 ? __ffs(valid) - 1 : 0;
    const bool comparable = own.index >= 0 && !isnan(own.score);
    const Best<S> best = warp_best(comparable ? own : Best<S>{S{}, -1});
    if (lane == first) result = best.index < 0 || isnan(own.score) ? own : best;
  }
  __syncthreads();
  return result;
}

// keys[j] for a j known only at run time, without moving keys to local memory.
__device__ __forceinline__ std::uint32_t pick(const std::uint32_t (&keys)[kItems], int j) {
  std::uint32_t key = keys[0];
#pragma unroll
  for (int jj = 1; jj < kItems; ++jj) key = j == jj ? keys[jj] : key;
  return key;
}

// The k-th largest of the block's n keys (k in 1..n), by radix select: per pass, a histogram of
// the next digit over the keys that share the digits chosen so far, then a block-wide suffix sum
// over the bins finds the digit that holds the k-th largest. Once all the keys of that digit are
// needed (usually one key after two passes), the answer is their minimum. The caller has counted
// the first digits into bins, the other bins are zero.
__device__ std::uint32_t kth_largest_key(const std::uint32_t (&keys)[kItems], int n, int k, unsigned* bins) {
  __shared__ unsigned warp_total[kWarps];
  __shared__ std::uint32_t prefix_shared, min_shared;
  __shared__ unsigned remaining_shared, count_shared;
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  unsigned* own_bins = bins + threadIdx.x * kBinsPerThread;
  std::uint32_t prefix = 0, mask = 0;
  unsigned remaining = static_cast<unsigned>(k);  // rank of the answer among the keys under prefix
  int shift = kFirstShift;
#pragma unroll 1
  for (;; shift -= kDigitBits) {
    if (shift != kFirstShift) {
#pragma unroll
      for (int j = 0; j < kItems; ++j)
        if (static_cast<int>(threadIdx.x) + j * kThreads < n && (keys[j] & mask) == prefix)
          atomicAdd(&bins[(keys[j] >> shift) & (kBins - 1)], 1u);
    }
    __syncthreads();
    unsigned own[kBinsPerThread], total = 0;
#pragma unroll
    for (int b = 0; b < kBinsPerThread; ++b) {
      own[b] = own_bins[b];
      own_bins[b] = 0;  // for the next pass; no other thread reads these bins
      total += own[b];
    }
    unsigned suffix = total;  // this lane's and the later lanes' bins
    for (int offset = 1; offset < kWarpSize; offset *= 2) {
      const unsigned other = __shfl_down_sync(kFullMask, suffix, offset);
      if (lane + offset < kWarpSize) suffix += other;
    }
    if (lane == 0) warp_total[warp] = suffix;
    __syncthreads();
    // above: the keys in the bins after b. The bin b with above < remaining ≤ above + own[b] is
    // the one holding the answer; exactly one thread finds it.
    const unsigned later_warps = __reduce_add_sync(kFullMask, lane > warp && lane < kWarps ? warp_total[lane] : 0u);
    unsigned above = later_warps + suffix - total;
#pragma unroll
    for (int b = kBinsPerThread - 1; b >= 0; --b) {
      if (above < remaining && above + own[b] >= remaining) {
        prefix_shared = prefix | (static_cast<std::uint32_t>(threadIdx.x * kBinsPerThread + b) << shift);
        remaining_shared = remaining - above;
        count_shared = own[b];
        min_shared = ~0u;
      }
      above += own[b];
    }
    __syncthreads();
    prefix = prefix_shared;
    remaining = remaining_shared;
    mask |= static_cast<std::uint32_t>(kBins - 1) << shift;
    if (shift == 0) return prefix;
    if (count_shared == remaining) break;
  }
#pragma unroll
  for (int j = 0; j < kItems; ++j)
    if (static_cast<int>(threadIdx.x) + j * kThreads < n && (keys[j] & mask) == prefix) atomicMin(&min_shared, keys[j]);
  __syncthreads();
  return min_shared;
}

}  // namespace

template <typename T>
static __global__ void __launch_bounds__(kThreads) sample_kernel(SampleParams args, SampleParams::Songs songs,
                                                                 bool many) {
  await_previous_kernel();
  SampleParams p = args;
  const int song = blockIdx.x;
  std::int32_t first_row = 0;
  if (many) {
    first_row = songs.first_row[song];
    if (first_row < 0) return;  // the whole block
    p.rows = songs.cfg[song] ? 2 : 1;
    p.logits = static_cast<const T*>(args.logits) + first_row * args.vocab;
    p.temperature = songs.temperature[song];
    p.cfg_scale = songs.cfg_scale[song];
    p.topk = songs.topk[song] > 1 ? songs.topk[song] : 1;
    p.blocked_begin = songs.blocked[2 * song];
    p.blocked_end = songs.blocked[2 * song + 1];
    p.rng = args.rng + 2 * song;
    p.token = args.token + song;
  }
  __shared__ alignas(sizeof(uint2)) unsigned bins[kBins];  // also the list of kept values
  __shared__ unsigned list_size;
  __shared__ Best<double> listed_best[kWarps];
  __shared__ bool saw_nan;
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
#pragma unroll
  for (int b = 0; b < kBinsPerThread; ++b) bins[threadIdx.x * kBinsPerThread + b] = 0;
  if (threadIdx.x == 0) {
    list_size = 0;
    saw_nan = false;
  }
  const bool sampling = p.temperature > 0.0f;
  const int vocab = static_cast<int>(p.vocab);
  const T* cond = static_cast<const T*>(p.logits);
  // All loads first (guided may alias logits as far as the compiler knows).
  float c[kItems] = {}, u[kItems] = {};
#pragma unroll
  for (int j = 0; j < kItems; ++j) {
    const int i = threadIdx.x + j * kThreads;
    if (i < vocab) {
      c[j] = to_float(cond[i]);
      if (p.rows == 2) u[j] = to_float(cond[vocab + i]);
    }
  }
  __syncthreads();  // bins zeroed, for the first digits' counts below (loads in flight)
  std::uint32_t keys[kItems] = {};
  Best<float> top{-INFINITY, -1};
#pragma unroll
  for (int j = 0; j < kItems; ++j) {
    const int i = threadIdx.x + j * kThreads;
    if (i < vocab) {
      float v = c[j];
      if (p.rows == 2) v = __fadd_rn(u[j], __fmul_rn(__fsub_rn(v, u[j]), p.cfg_scale));  // no FMA: the CPU rounds twice
      if (p.guided) static_cast<T*>(p.guided)[i] = from_float<T>(v);
      if (i >= p.blocked_begin && i < p.blocked_end) v = -INFINITY;
      keys[j] = order_key(v);
      if (sampling) atomicAdd(&bins[keys[j] >> kFirstShift], 1u);
      if (top.index < 0 || v > top.score) top = Best<float>{v, i};  // better(top, {v, i}): i rises
    }
  }
  const Best<float> argmax = block_best(top);
  if (sampling) {
    const std::uint64_t seed = static_cast<std::uint64_t>(p.rng[0]);
    const std::uint64_t counter = static_cast<std::uint64_t>(p.rng[1]);
    const int k = p.topk < vocab ? p.topk : vocab;
    const float threshold = key_value(kth_largest_key(keys, vocab, k, bins));
    const auto score = [&](int i, float v) {
      const float e = exponential_variate(seed, counter, static_cast<std::uint64_t>(i));
      return static_cast<double>(v - argmax.score) / p.temperature - log(static_cast<double>(e));
    };
    // The kept values (usually about topk) go to a list and are scored one per thread: the best
    // is the same in any order unless a score is NaN (better() keeps a NaN it holds and never
    // takes one it meets). With a NaN, or more kept values than threads, each thread scores its
    // own values upwards instead and block_best folds them in the original order.
    unsigned kept = 0;  // bit j: value j is ≥ the k-th largest
#pragma unroll
    for (int j = 0; j < kItems; ++j)
      if (static_cast<int>(threadIdx.x) + j * kThreads < vocab && key_value(keys[j]) >= threshold) kept |= 1u << j;
    uint2* list = reinterpret_cast<uint2*>(bins);  // {i, key}; bins is free again
    unsigned slot = kept != 0 ? atomicAdd(&list_size, static_cast<unsigned>(__popc(kept))) : 0u;
#pragma unroll 1
    for (unsigned rest = kept; rest != 0; rest &= rest - 1, ++slot) {
      const int j = __ffs(rest) - 1;
      if (slot < kListSize) list[slot] = make_uint2(threadIdx.x + j * kThreads, pick(keys, j));
    }
    __syncthreads();
    const unsigned listed = list_size;
    const int scoring_warps = static_cast<int>((listed + kWarpSize - 1) / kWarpSize);
    Best<double> mine{-INFINITY, -1};
    if (listed <= kListSize && warp < scoring_warps) {
      if (threadIdx.x < listed) {
        const uint2 e = list[threadIdx.x];
        mine = Best<double>{score(static_cast<int>(e.x), key_value(e.y)), static_cast<int>(e.x)};
      }
      if (__any_sync(kFullMask, isnan(mine.score))) saw_nan = true;
      mine = warp_best(mine);
      if (lane == 0) listed_best[warp] = mine;
    }
    __syncthreads();
    if (listed <= kListSize && !saw_nan) {
      if (threadIdx.x == 0) {
        for (int w = 1; w < scoring_warps; ++w) mine = better(mine, listed_best[w]);
        p.token[0] = mine.index;
      }
    } else {
      mine = Best<double>{-INFINITY, -1};
#pragma unroll 1
      for (; kept != 0; kept &= kept - 1) {  // upwards in i
        const int j = __ffs(kept) - 1;
        const int i = threadIdx.x + j * kThreads;
        mine = better(mine, Best<double>{score(i, key_value(pick(keys, j))), i});
      }
      const int chosen = block_best(mine).index;
      if (threadIdx.x == 0) p.token[0] = chosen;
    }
  } else if (threadIdx.x == 0) {
    p.token[0] = argmax.index;
  }
  if (threadIdx.x == 0) {
    p.rng[1] = static_cast<std::int64_t>(static_cast<std::uint64_t>(p.rng[1]) + 1u);
    if (many)  // thread 0 wrote the token
      for (int r = 0; r < p.rows; ++r) songs.row_tokens[first_row + r] = p.token[0];
  }
}

void sample(const SampleParams& p, cudaStream_t stream) {
  if (p.vocab <= 0 || p.vocab > kSampleMaxVocab || (p.rows != 1 && p.rows != 2) || (p.topk < 1 && !p.songs_on_host))
    throw CudaError("sample: unsupported vocab " + std::to_string(p.vocab) + ", rows " + std::to_string(p.rows) +
                    " or topk " + std::to_string(p.topk) + " (vocab ≤ " + std::to_string(kSampleMaxVocab) + ")");
  const bool many = p.songs_on_host != nullptr;
  const SampleParams::Songs songs = many ? *p.songs_on_host : SampleParams::Songs{};
  if (many && songs.count <= 0) return;
  dispatch_element(p.type, [&](auto tag) {
    using T = decltype(tag);
    launch(sample_kernel<T>, many ? static_cast<unsigned>(songs.count) : 1u, kThreads, stream, p, songs, many);
  });
}

}  // namespace hs::kernels
