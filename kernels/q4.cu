#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/gemv_mma_kernel.cuh"
#include "kernels/q4.cuh"

namespace hs::kernels {
namespace {

// A lane's 16 codes of a chunk are 8 bytes of one 64-value block: the block scale is the chunk's.
// 16 bytes per lane (two blocks, lanes swapping halves by shuffles) lost at every launch shape
// tried: an int4 frame 3.39 → 3.72 ms at best (benchmarks/results/q4_wide_reads_h100.json).
struct Q4Weights {
  using Vector = uint2;
  static constexpr int kBits = 4;
  using SmallGrid = GemvGrid<8, 8, 3>;  // gemv_mma_kernel.cuh: the sweep that chose it
  // 4 warps of 8 vectors, registers uncapped: the fp8 setting or 8 warps at 3 blocks per SM moved
  // an int4 frame by under 1 % (gemv_large_grid_h100.json).
  using LargeGrid = GemvGrid<4, 8, 1>;
  static constexpr bool kBlockScaled = true;
  const float* block_scales;
  float unit;

  __device__ __forceinline__ float scale(const GemvParams&, std::int64_t) const { return unit; }
};

// Any 16 bf16 values: code c's low and high bytes from tables of 16 bytes (4 registers each).
// Per 4 codes, byte permutes pick each code's byte among entries 0-7 and among 8-15, a third
// keeps the one its bit 3 names; two more interleave low and high bytes into 2 bf16x2 words.
struct Q4LookupWeights : Q4Weights {
  std::uint32_t low[4], high[4];

  __device__ __forceinline__ void pairs(const uint2& v, std::uint32_t* out) const {
    const std::uint32_t words[2] = {v.x, v.y};
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const std::uint32_t pick = 0x32103210u | ((words[i] >> 1) & 0x44444444u);  // byte n, or n + 4 for codes ≥ 8
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const std::uint32_t codes = words[i] >> (16 * h), select = pick >> (16 * h);
        const std::uint32_t lo =
            __byte_perm(__byte_perm(low[0], low[1], codes), __byte_perm(low[2], low[3], codes), select);
        const std::uint32_t hi =
            __byte_perm(__byte_perm(high[0], high[1], codes), __byte_perm(high[2], high[3], codes), select);
        out[4 * i + 2 * h] = __byte_perm(lo, hi, 0x5140);
        out[4 * i + 2 * h + 1] = __byte_perm(lo, hi, 0x7362);
      }
    }
  }
  __device__ __forceinline__ static void arrange_x(std::uint32_t*) {}
};

// values[c] = c - 8: nibbles s and s + 4 of a word OR-ed into the mantissas of bf16 128.0 are
// 128 + c, exactly; subtracting 136 leaves c - 8. The words pair codes (s, s + 4), so x's pairs
// are rearranged to match.
struct Q4IntegerWeights : Q4Weights {
  __device__ __forceinline__ void pairs(const uint2& v, std::uint32_t* out) const {
    const std::uint32_t words[2] = {v.x, v.y};
    const __nv_bfloat162 offset = __floats2bfloat162_rn(136.0f, 136.0f);
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int s = 0; s < 4; ++s) {
        const std::uint32_t biased = ((words[i] >> (4 * s)) & 0x000f000fu) | 0x43004300u;
        const __nv_bfloat162 value = __hsub2(*reinterpret_cast<const __nv_bfloat162*>(&biased), offset);
        out[4 * i + s] = *reinterpret_cast<const std::uint32_t*>(&value);
      }
  }
  // x pairs (0, 1) (2, 3) (4, 5) (6, 7) of each 8 values become (0, 4) (1, 5) (2, 6) (3, 7).
  __device__ __forceinline__ static void arrange_x(std::uint32_t* a) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const std::uint32_t p0 = a[4 * i], p1 = a[4 * i + 1], p2 = a[4 * i + 2], p3 = a[4 * i + 3];
      a[4 * i] = __byte_perm(p0, p2, 0x5410);
      a[4 * i + 1] = __byte_perm(p0, p2, 0x7632);
      a[4 * i + 2] = __byte_perm(p1, p3, 0x5410);
      a[4 * i + 3] = __byte_perm(p1, p3, 0x7632);
    }
  }
};

bool integer_levels(const Q4Table& t) {
  for (int c = 0; c < 16; ++c)
    if (t.values[c] != static_cast<float>(c - 8)) return false;
  return true;
}

// The bf16 bits of v, or -1 when v is not a bf16 value.
int bf16_bits(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0xffffu) == 0 ? static_cast<int>(bits >> 16) : -1;
}

}  // namespace

void gemv_q4(const GemvParams& p, const float* block_scales, const Q4Table& table, cudaStream_t stream) {
  if (p.rows < 0 || p.rows > kGemvMaxRows) throw CudaError("gemv_q4: " + std::to_string(p.rows) + " rows (at most 4)");
  if (p.in % kQ4BlockValues != 0 || p.scales)
    throw CudaError("gemv_q4: in_features " + std::to_string(p.in) + " must be a multiple of 64, per-channel scales null");
  if (p.gated && (p.out_features % 2 != 0 || p.bias || p.accumulate))
    throw CudaError("gemv_q4: the gated epilogue needs an even stack without bias or accumulate");
  if (p.rows == 0 || p.out_features == 0) return;
  static_assert(kMmaChunk == kQ4BlockValues);
  if (integer_levels(table)) return launch_gemv_mma(p, Q4IntegerWeights{{block_scales, table.unit}}, stream);
  Q4LookupWeights weights{{block_scales, table.unit}, {}, {}};
  for (int c = 0; c < 16; ++c) {
    const int bits = bf16_bits(table.values[c]);
    if (bits < 0) throw CudaError("gemv_q4: table value " + std::to_string(table.values[c]) + " is not a bf16 value");
    weights.low[c / 4] |= static_cast<std::uint32_t>(bits & 0xff) << (8 * (c % 4));
    weights.high[c / 4] |= static_cast<std::uint32_t>(bits >> 8) << (8 * (c % 4));
  }
  launch_gemv_mma(p, weights, stream);
}

// One byte (two values) per thread and iteration.
static __global__ void widen_q4_kernel(WidenQ4Params p, Q4Table t) {
  await_previous_kernel();
  const std::int64_t pairs = p.stored_rows * p.in / 2, stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::uint8_t* codes = static_cast<const std::uint8_t*>(p.codes);
  auto* out = static_cast<__nv_bfloat162*>(p.out);
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < pairs; i += stride) {
    const std::int64_t row = 2 * i / p.in;
    if (row >= p.out_features) {
      out[i] = __floats2bfloat162_rn(0.0f, 0.0f);
      continue;
    }
    const std::uint8_t pair = codes[i];
    const float scale = p.block_scales[row * (p.in / kQ4BlockValues) + (2 * i % p.in) / kQ4BlockValues];
    out[i] = __floats2bfloat162_rn(t.values[pair & 0xfu] * t.unit * scale, t.values[pair >> 4] * t.unit * scale);
  }
}

void widen_q4(const WidenQ4Params& p, const Q4Table& table, cudaStream_t stream) {
  if (p.in % kQ4BlockValues != 0) throw CudaError("widen_q4: in_features must be a multiple of 64");
  const std::int64_t pairs = p.stored_rows * p.in / 2;
  if (pairs == 0) return;
  constexpr int kWidenThreads = 256;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((pairs + kWidenThreads - 1) / kWidenThreads, 8192));
  launch(widen_q4_kernel, blocks, kWidenThreads, stream, p, table);
}

}  // namespace hs::kernels
