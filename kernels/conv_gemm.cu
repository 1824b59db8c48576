#include "kernels/common.cuh"
#include "kernels/conv_gemm.cuh"

namespace hs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kTileN = 128;       // output columns per block
constexpr int kWideTileM = 128;   // bf16 path: output channels per block when cout > kNarrowTileM ...
constexpr int kNarrowTileM = 64;  // ... else, and always on the fp32 path
constexpr int kChunkBf16 = 32;    // GEMM rows per shared-memory stage: bf16 path ...
constexpr int kChunkF32 = 16;     // ... fp32 path
constexpr int kVectorBf16 = 8;    // values per 16-byte vector
constexpr int kVectorF32 = 4;
// Row padding: 80-byte bf16 rows make the 16-byte stores and ldmatrix reads of 8 consecutive
// rows hit distinct bank groups; the fp32 weight tile keeps 16-byte aligned rows.
constexpr int kPadBf16 = 8;
constexpr int kPadF32 = 4;

// bf16 blocks resident per SM (registers capped to fit), so one block's loads overlap another's mmas.
constexpr int kBlocksPerSm = 2;

// The tap-major bf16 path (conv1d, stride 1, up to kTapsMax taps reaching at most kReachMax
// columns past a tile, input channels a multiple of kTapChannels): per stage, kTapChannels input
// channels of x over the tile's columns plus the reach, and every tap's weights for them.
constexpr int kTapsMax = 7;
constexpr int kReachMax = 56;  // ≥ 6 · 9, the decoder's widest k7; keeps the stages within 99 KB
constexpr int kTapChannels = 32;
constexpr int kTapStride = kTapChannels + kPadBf16;       // 80-byte rows, as above
constexpr int kTapColumns = kTileN + kReachMax;
constexpr std::size_t kTapWeightStage = std::size_t{kTapsMax} * kNarrowTileM * kTapStride;  // bf16 values
constexpr std::size_t kTapInputStage = std::size_t{kTapColumns} * kTapStride;
constexpr std::size_t kTapSharedBytes = 2 * (kTapWeightStage + kTapInputStage) * sizeof(__nv_bfloat16);

__host__ __device__ __forceinline__ int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Where phase p's GEMM sits: column n is q = first + n, taps t < taps exist (p + t·P < K).
struct Phase {
  int p, first, columns, taps;
};

__device__ __forceinline__ Phase phase_of(const ConvGemmParams& g, int p) {
  Phase ph;
  ph.p = p;
  ph.first = ceil_div(max(g.skip - p, 0), g.phases);
  ph.columns = max(ceil_div(max(g.out_len + g.skip - p, 0), g.phases) - ph.first, 0);
  ph.taps = p < g.kernel ? ceil_div(g.kernel - p, g.phases) : 0;
  return ph;
}

// x values of kRows consecutive GEMM rows from `row` (row = c·max_taps + t) for the column whose
// tap 0 reads x[col]: zero outside [0, in_len), past the last channel or for taps the phase lacks.
template <int kRows>
__device__ __forceinline__ void gather_x(const ConvGemmParams& g, const float* xb, int max_taps, int taps, int row,
                                         int col, float* v) {
  int c = row / max_taps, t = row - c * max_taps;
  const float* xc = xb + static_cast<std::int64_t>(c) * g.in_len;
#pragma unroll
  for (int e = 0; e < kRows; ++e) {
    const int i = col + t * g.in_dilation;
    v[e] = c < g.cin && t < taps && static_cast<unsigned>(i) < static_cast<unsigned>(g.in_len) ? __ldg(xc + i) : 0.0f;
    if (++t == max_taps) t = 0, ++c, xc += g.in_len;
  }
}

// Weights of output channel m for kRows consecutive GEMM rows from `row`, as stored: zero past
// cout, past the last channel or for taps the phase lacks.
template <typename W, int kRows>
__device__ __forceinline__ void gather_w(const ConvGemmParams& g, int m, int max_taps, const Phase& ph, int row, W* v) {
  int c = row / max_taps, t = row - c * max_taps;
  const W* wm = static_cast<const W*>(g.weight) + m * g.weight_stride_out + ph.p;
#pragma unroll
  for (int e = 0; e < kRows; ++e) {
    v[e] = m < g.cout && c < g.cin && t < ph.taps ? wm[c * g.weight_stride_in + t * g.phases] : from_float<W>(0.0f);
    if (++t == max_taps) t = 0, ++c;
  }
}

// Output (m, column n of the phase) = acc + bias, then PReLU; nothing past cout or the columns.
__device__ __forceinline__ void store_output(const ConvGemmParams& g, const Phase& ph, int b, int m, int n, float acc) {
  if (m >= g.cout || n >= ph.columns) return;
  float v = acc + (g.bias ? g.bias[m] : 0.0f);
  if (g.alpha) {
    const float slope = g.alpha[g.alpha_per_channel ? m : 0];
    v = fmaxf(v, 0.0f) + slope * fminf(v, 0.0f);  // as the CPU prelu
  }
  const int j = (ph.first + n) * g.phases + ph.p - g.skip;
  g.out[(static_cast<std::int64_t>(b) * g.cout + m) * g.out_len + j] = v;
}

__device__ __forceinline__ uint4 pack_bf16(const float* v) {
  std::uint32_t w[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);  // .x (low half) = v[2i]
    w[i] = *reinterpret_cast<const std::uint32_t*>(&h);
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

__device__ __forceinline__ void ldmatrix_x4(std::uint32_t* r, const void* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

__device__ __forceinline__ void mma_bf16(float* c, const std::uint32_t* a, const std::uint32_t* b) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// One 16-deep step of a warp's (kMmaM·16) × (kMmaN·8) tile: A from a [m][k] shared tile (a: the
// warp's first row at the step's k), B from a [column][k] one (b likewise), rows kStride apart.
// ldmatrix x4 lanes: A rows lane % 16, columns (lane / 16)·8 give a0..a3 of m16n8k16; B columns
// (lane / 16)·8 + lane % 8, rows (lane / 8 % 2)·8 give b0, b1 of two n8 tiles.
template <int kMmaM, int kMmaN, int kStride>
__device__ __forceinline__ void warp_mma_k16(float (&acc)[kMmaM][kMmaN][4], const __nv_bfloat16* a,
                                             const __nv_bfloat16* b, int lane) {
  std::uint32_t af[kMmaM][4], bf[kMmaN][2];
#pragma unroll
  for (int mt = 0; mt < kMmaM; ++mt) ldmatrix_x4(af[mt], a + (mt * 16 + lane % 16) * kStride + lane / 16 * 8);
#pragma unroll
  for (int nt = 0; nt < kMmaN; nt += 2) {
    std::uint32_t r[4];
    ldmatrix_x4(r, b + (nt * 8 + lane / 16 * 8 + lane % 8) * kStride + lane / 8 % 2 * 8);
    bf[nt][0] = r[0], bf[nt][1] = r[1], bf[nt + 1][0] = r[2], bf[nt + 1][1] = r[3];
  }
#pragma unroll
  for (int mt = 0; mt < kMmaM; ++mt)
#pragma unroll
    for (int nt = 0; nt < kMmaN; ++nt) mma_bf16(acc[mt][nt], af[mt], bf[nt]);
}

// A warp's accumulators out through store_output, its tile starting at channel m and column n:
// c0, c1 at row lane / 4, columns 2·(lane % 4) + {0, 1}; c2, c3 eight rows on.
template <int kMmaM, int kMmaN>
__device__ __forceinline__ void store_warp_tile(const ConvGemmParams& g, const Phase& ph, int b, int m, int n, int lane,
                                                const float (&acc)[kMmaM][kMmaN][4]) {
#pragma unroll
  for (int mt = 0; mt < kMmaM; ++mt)
#pragma unroll
    for (int nt = 0; nt < kMmaN; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        store_output(g, ph, b, m + mt * 16 + lane / 4 + e / 2 * 8, n + nt * 8 + lane % 4 * 2 + e % 2, acc[mt][nt][e]);
}

// The main loop the three kernels share: stage s is read into registers (load(s)) while stage
// s − 1, already in shared buffer (s − 1) % 2, is multiplied (compute(buffer)); then the registers
// go to the other buffer (store(buffer)). One barrier per stage.
template <typename Load, typename Store, typename Compute>
__device__ __forceinline__ void double_buffered(int stages, Load&& load, Store&& store, Compute&& compute) {
  if (stages > 0) {
    load(0);
    store(0);
  }
  __syncthreads();
  for (int stage = 0; stage < stages; ++stage) {
    const int buf = stage & 1;
    if (stage + 1 < stages) load(stage + 1);
    compute(buf);
    if (stage + 1 < stages) store(buf ^ 1);
    __syncthreads();
  }
}

// SMs of the device first used, read once (a device attribute: no stream work, so capture-safe).
int multiprocessors() {
  static const int count = [] {
    int device = 0, n = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  }();
  return count;
}

// Dynamic shared memory one block may opt in to on that device (99 KB on compute capability 8.6
// and 8.9, 227 KB on 9.0).
std::size_t shared_optin_bytes() {
  static const std::size_t bytes = [] {
    int device = 0, n = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    return static_cast<std::size_t>(n);
  }();
  return bytes;
}

}  // namespace

// Block: kTileM output channels × kTileN columns of one (batch, phase); 8 warps as 2 × 4, each a
// (kTileM / 2) × 32 tile of m16n8k16 mmas. Shared memory holds A [m][row] and B [column][row]
// (rows contiguous, as ldmatrix wants both), double-buffered: chunk i + 1 is read from global
// memory into registers while chunk i is multiplied, then stored, so one barrier per chunk.
// kContiguous: weight rows are contiguous (conv1d) with 16-byte aligned vectors.
template <int kTileM, bool kContiguous>
static __global__ void __launch_bounds__(kThreads, kBlocksPerSm) conv_gemm_bf16_kernel(ConvGemmParams g) {
  await_previous_kernel();
  constexpr int kWarpsM = 2, kWarpsN = 4;
  constexpr int kWarpM = kTileM / kWarpsM, kWarpN = kTileN / kWarpsN;
  constexpr int kMmaM = kWarpM / 16, kMmaN = kWarpN / 8;
  constexpr int kStride = kChunkBf16 + kPadBf16;
  constexpr int kVectorsPerRow = kChunkBf16 / kVectorBf16;
  constexpr int kAVectors = kTileM * kVectorsPerRow / kThreads;
  constexpr int kBVectors = kTileN * kVectorsPerRow / kThreads;
  static_assert(kWarpsM * kWarpsN * kWarpSize == kThreads && kMmaN % 2 == 0 && kAVectors >= 1);
  __shared__ alignas(16) __nv_bfloat16 sa[2][kTileM][kStride];
  __shared__ alignas(16) __nv_bfloat16 sb[2][kTileN][kStride];

  const int b = blockIdx.z / g.phases;
  const Phase ph = phase_of(g, blockIdx.z % g.phases);
  const int n0 = blockIdx.x * kTileN, m0 = blockIdx.y * kTileM;
  if (n0 >= ph.columns) return;
  const int max_taps = ceil_div(g.kernel, g.phases);
  const int rows = g.cin * max_taps;
  const int chunks = ceil_div(rows, kChunkBf16);
  const float* xb = g.x + static_cast<std::int64_t>(b) * g.cin * g.in_len;
  const int tid = threadIdx.x;

  // A vector i of this thread: channel m0 + a_m(i), rows a_part(i)·8 ..; B vector i: column
  // b_n(i) (consecutive threads on consecutive columns: coalesced x reads), rows b_part(i)·8 ..
  auto a_m = [&](int i) { return (tid + i * kThreads) / kVectorsPerRow; };
  auto a_part = [&](int i) { return (tid + i * kThreads) % kVectorsPerRow; };
  auto b_n = [&](int i) { return (tid + i * kThreads) % kTileN; };
  auto b_part = [&](int i) { return (tid + i * kThreads) / kTileN; };
  uint4 a_stage[kAVectors];
  float b_stage[kBVectors][kVectorBf16];
  auto load = [&](int chunk) {
    const int row0 = chunk * kChunkBf16;
#pragma unroll
    for (int i = 0; i < kAVectors; ++i) {
      const int m = m0 + a_m(i), row = row0 + a_part(i) * kVectorBf16;
      if (kContiguous && m < g.cout && row + kVectorBf16 <= rows) {
        const auto* w = static_cast<const __nv_bfloat16*>(g.weight) + m * g.weight_stride_out + row;
        a_stage[i] = __ldg(reinterpret_cast<const uint4*>(w));
      } else {
        alignas(16) __nv_bfloat16 v[kVectorBf16];
        gather_w<__nv_bfloat16, kVectorBf16>(g, m, max_taps, ph, row, v);
        a_stage[i] = *reinterpret_cast<const uint4*>(v);
      }
    }
#pragma unroll
    for (int i = 0; i < kBVectors; ++i) {
      const int col = (ph.first + n0 + b_n(i)) * g.in_stride + g.in_offset;
      gather_x<kVectorBf16>(g, xb, max_taps, ph.taps, row0 + b_part(i) * kVectorBf16, col, b_stage[i]);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kAVectors; ++i)
      *reinterpret_cast<uint4*>(&sa[buf][a_m(i)][a_part(i) * kVectorBf16]) = a_stage[i];
#pragma unroll
    for (int i = 0; i < kBVectors; ++i)
      *reinterpret_cast<uint4*>(&sb[buf][b_n(i)][b_part(i) * kVectorBf16]) = pack_bf16(b_stage[i]);
  };

  const int lane = tid % kWarpSize, warp = tid / kWarpSize;
  const int wm = warp / kWarpsN * kWarpM, wn = warp % kWarpsN * kWarpN;
  float acc[kMmaM][kMmaN][4] = {};
  double_buffered(chunks, load, store, [&](int buf) {
#pragma unroll
    for (int k = 0; k < kChunkBf16; k += 16)
      warp_mma_k16<kMmaM, kMmaN, kStride>(acc, &sa[buf][wm][k], &sb[buf][wn][k], lane);
  });

  store_warp_tile(g, ph, b, m0 + wm, n0 + wn, lane, acc);
}

// The tap-major conv1d (stride 1, one phase): output (m, n) = Σ_c Σ_t W(m, c, t) · x[c, n + t·d +
// offset]. The im2col GEMM above gathers x once per (row c·K + t, column); here a stage holds x for
// kTapChannels channels over the tile's kTileN columns and the (K − 1)·d columns the taps reach
// past them, [column][channel] as ldmatrix wants it, and tap t's B operand is that tile shifted
// down t·d rows: one staged x value serves all K taps. The weights, stored [Cout][Cin][K], are
// staged per tap as [t][m][channel]. Same warp layout, mmas and double buffering as the narrow
// kernel above (64 × 128 tiles); the sum runs over channel stages, then taps, then channels.
static __global__ void __launch_bounds__(kThreads, kBlocksPerSm) conv_taps_bf16_kernel(ConvGemmParams g) {
  await_previous_kernel();
  constexpr int kTileM = kNarrowTileM;
  constexpr int kWarpsM = 2, kWarpsN = 4;
  constexpr int kWarpM = kTileM / kWarpsM, kWarpN = kTileN / kWarpsN;
  constexpr int kMmaM = kWarpM / 16, kMmaN = kWarpN / 8;
  constexpr int kGroups = kTapChannels / kVectorBf16;  // 8-channel vectors per row
  constexpr int kBUnits = (kTapColumns * kGroups + kThreads - 1) / kThreads;
  static_assert(kTileM * kGroups == kThreads, "a stage's weights are K vectors per thread");
  extern __shared__ __align__(16) unsigned char shared[];
  auto* sa = reinterpret_cast<__nv_bfloat16(*)[kTapsMax][kTileM][kTapStride]>(shared);
  auto* sb = reinterpret_cast<__nv_bfloat16(*)[kTapColumns][kTapStride]>(shared + 2 * kTapWeightStage *
                                                                                        sizeof(__nv_bfloat16));

  const int b = blockIdx.z;
  const Phase ph = phase_of(g, 0);
  const int n0 = blockIdx.x * kTileN, m0 = blockIdx.y * kTileM;
  if (n0 >= ph.columns) return;
  const int taps = g.kernel, dilation = g.in_dilation;
  const int width = kTileN + (taps - 1) * dilation;  // staged columns
  const int stages = g.cin / kTapChannels;
  const float* xb = g.x + static_cast<std::int64_t>(b) * g.cin * g.in_len;
  const auto* w = static_cast<const __nv_bfloat16*>(g.weight);
  const int tid = threadIdx.x;

  // Weights: a stage's are, per channel m, one run of kTapChannels · K values (channel-major, tap
  // minor): 4·K 16-byte vectors, K per thread (vector u: channel u / (4·K), consecutive threads
  // on consecutive vectors: coalesced reads), each value then stored to its tap's plane. x: unit
  // u = column u % width, channels 8·(u / width) .. (consecutive threads on consecutive columns:
  // coalesced reads; their 16-byte stores, 80 bytes apart, hit distinct banks).
  const int run_vectors = kGroups * taps;
  uint4 a_stage[kTapsMax], b_stage[kBUnits];
  auto load = [&](int stage) {
    const int c0 = stage * kTapChannels;
#pragma unroll
    for (int i = 0; i < kTapsMax; ++i) {
      const int u = tid + i * kThreads, m = u / run_vectors, q = u - m * run_vectors;
      a_stage[i] = make_uint4(0, 0, 0, 0);
      if (i < taps && m0 + m < g.cout)
        a_stage[i] = __ldg(reinterpret_cast<const uint4*>(w + static_cast<std::int64_t>(m0 + m) * g.weight_stride_out +
                                                          c0 * taps) + q);
    }
#pragma unroll
    for (int i = 0; i < kBUnits; ++i) {
      const int u = tid + i * kThreads, col = u % width, group = u / width;
      float v[kVectorBf16] = {};
      const int x_col = n0 + col + g.in_offset;
      if (group < kGroups && static_cast<unsigned>(x_col) < static_cast<unsigned>(g.in_len)) {
        const float* xc = xb + static_cast<std::int64_t>(c0 + group * kVectorBf16) * g.in_len + x_col;
#pragma unroll
        for (int e = 0; e < kVectorBf16; ++e) v[e] = __ldg(xc + static_cast<std::int64_t>(e) * g.in_len);
      }
      b_stage[i] = pack_bf16(v);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kTapsMax; ++i) {
      const int u = tid + i * kThreads, m = u / run_vectors, q = u - m * run_vectors;
      if (i >= taps) break;
      const auto* v = reinterpret_cast<const __nv_bfloat16*>(&a_stage[i]);
      int c = q * kVectorBf16 / taps, t = q * kVectorBf16 - c * taps;
#pragma unroll
      for (int e = 0; e < kVectorBf16; ++e) {
        sa[buf][t][m][c] = v[e];
        if (++t == taps) t = 0, ++c;
      }
    }
#pragma unroll
    for (int i = 0; i < kBUnits; ++i) {
      const int u = tid + i * kThreads, col = u % width, group = u / width;
      if (group < kGroups) *reinterpret_cast<uint4*>(&sb[buf][col][group * kVectorBf16]) = b_stage[i];
    }
  };

  const int lane = tid % kWarpSize, warp = tid / kWarpSize;
  const int wm = warp / kWarpsN * kWarpM, wn = warp % kWarpsN * kWarpN;
  float acc[kMmaM][kMmaN][4] = {};
  double_buffered(stages, load, store, [&](int buf) {
    for (int t = 0; t < taps; ++t) {
      const int shift = t * dilation;
#pragma unroll
      for (int k = 0; k < kTapChannels; k += 16)  // B rows start t·d columns further on
        warp_mma_k16<kMmaM, kMmaN, kTapStride>(acc, &sa[buf][t][wm][k], &sb[buf][shift + wn][k], lane);
    }
  });

  store_warp_tile(g, ph, b, m0 + wm, n0 + wn, lane, acc);
}

// Block: 64 output channels × kTileN columns, each thread 4 channels × 8 columns (two runs of 4,
// 64 apart, so the warp's float4 reads of B are contiguous), every output summed over rows in
// order with fp32 FMA. Shared memory: A [row][m], B [row][column], double-buffered as above.
template <bool kContiguous>
static __global__ void __launch_bounds__(kThreads) conv_gemm_f32_kernel(ConvGemmParams g) {
  await_previous_kernel();
  constexpr int kTileM = kNarrowTileM;
  constexpr int kThreadM = 4, kThreadN = 8, kRun = kThreadN / 2;
  constexpr int kThreadsN = kTileN / kThreadN;
  constexpr int kARows = kTileM * kChunkF32 / kThreads;  // per thread, one channel
  constexpr int kBRows = kTileN * kChunkF32 / kThreads;  // per thread, one column
  static_assert(kARows == kVectorF32 && (kTileM / kThreadM) * kThreadsN == kThreads);
  __shared__ alignas(16) float sa[2][kChunkF32][kTileM + kPadF32];
  __shared__ alignas(16) float sb[2][kChunkF32][kTileN];

  const int b = blockIdx.z / g.phases;
  const Phase ph = phase_of(g, blockIdx.z % g.phases);
  const int n0 = blockIdx.x * kTileN, m0 = blockIdx.y * kTileM;
  if (n0 >= ph.columns) return;
  const int max_taps = ceil_div(g.kernel, g.phases);
  const int rows = g.cin * max_taps;
  const int chunks = ceil_div(rows, kChunkF32);
  const float* xb = g.x + static_cast<std::int64_t>(b) * g.cin * g.in_len;
  const int tid = threadIdx.x;

  const int a_m = tid / (kChunkF32 / kARows), a_row = tid % (kChunkF32 / kARows) * kARows;
  const int b_n = tid % kTileN, b_row = tid / kTileN * kBRows;
  const int col = (ph.first + n0 + b_n) * g.in_stride + g.in_offset;
  float a_stage[kARows], b_stage[kBRows];
  auto load = [&](int chunk) {
    const int row = chunk * kChunkF32 + a_row, m = m0 + a_m;
    if (kContiguous && m < g.cout && row + kARows <= rows) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(static_cast<const float*>(g.weight) +
                                                            m * g.weight_stride_out + row));
      a_stage[0] = v.x, a_stage[1] = v.y, a_stage[2] = v.z, a_stage[3] = v.w;
    } else {
      gather_w<float, kARows>(g, m, max_taps, ph, row, a_stage);
    }
    gather_x<kBRows>(g, xb, max_taps, ph.taps, chunk * kChunkF32 + b_row, col, b_stage);
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int e = 0; e < kARows; ++e) sa[buf][a_row + e][a_m] = a_stage[e];
#pragma unroll
    for (int e = 0; e < kBRows; ++e) sb[buf][b_row + e][b_n] = b_stage[e];
  };

  const int tm = tid / kThreadsN * kThreadM, tn = tid % kThreadsN * kRun;
  float acc[kThreadM][kThreadN] = {};
  double_buffered(chunks, load, store, [&](int buf) {
#pragma unroll
    for (int k = 0; k < kChunkF32; ++k) {
      const float4 a = *reinterpret_cast<const float4*>(&sa[buf][k][tm]);
      const float4 b0 = *reinterpret_cast<const float4*>(&sb[buf][k][tn]);
      const float4 b1 = *reinterpret_cast<const float4*>(&sb[buf][k][tn + kTileN / 2]);
      const float av[kThreadM] = {a.x, a.y, a.z, a.w};
      const float bv[kThreadN] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < kThreadM; ++i)
#pragma unroll
        for (int j = 0; j < kThreadN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
  });

#pragma unroll
  for (int i = 0; i < kThreadM; ++i)
#pragma unroll
    for (int j = 0; j < kThreadN; ++j)
      store_output(g, ph, b, m0 + tm + i, n0 + tn + j % kRun + j / kRun * (kTileN / 2), acc[i][j]);
}

void conv_gemm(const ConvGemmParams& g, cudaStream_t stream) {
  if (g.batch == 0 || g.cout == 0 || g.out_len == 0) return;
  const int rows = g.cin * ceil_div(g.kernel, g.phases);
  const bool bf16 = g.weight_type == WeightType::BF16;
  // Whole 16-byte weight vectors straight from global memory: each channel's rows contiguous.
  const bool contiguous = g.phases == 1 && g.weight_stride_in == g.kernel && g.weight_stride_out == rows &&
                          rows % (bf16 ? kVectorBf16 : kVectorF32) == 0 &&
                          reinterpret_cast<std::uintptr_t>(g.weight) % 16 == 0;
  // The tap-major kernel wherever it applies: the choice depends on the layer and the GPU, never on
  // the signal's length or batch, so a song's audio does not depend on what it is decoded beside.
  const bool taps_path = bf16 && contiguous && g.in_stride == 1 && g.kernel > 1 && g.kernel <= kTapsMax &&
                         g.in_dilation >= 1 && (g.kernel - 1) * g.in_dilation <= kReachMax &&
                         g.cin % kTapChannels == 0 && kTapSharedBytes <= shared_optin_bytes();
  // Every phase has at most ⌈out_len / P⌉ columns; blocks past their phase's return at once.
  const int column_tiles = ceil_div(ceil_div(g.out_len, g.phases), kTileN);
  // The wide tile reuses each x value over twice the channels, but only pays while it still fills
  // every SM with kBlocksPerSm blocks; short signals get twice as many narrow blocks. Each output
  // is summed in the same order either way, so the choice never changes a result. The tap-major
  // kernel has narrow tiles only.
  const bool wide = !taps_path && bf16 && g.cout > kNarrowTileM &&
                    static_cast<std::int64_t>(column_tiles) * ceil_div(g.cout, kWideTileM) * g.batch * g.phases >=
                        std::int64_t{kBlocksPerSm} * multiprocessors();
  const int tile_m = wide ? kWideTileM : kNarrowTileM;
  const dim3 grid(column_tiles, ceil_div(g.cout, tile_m), g.batch * g.phases);
  auto run = [&](auto kernel) { launch(kernel, grid, kThreads, stream, g); };
  if (taps_path) {
    launch_shared(conv_taps_bf16_kernel, grid, kThreads, kTapSharedBytes, stream, g);  // one phase: z = batch
  } else if (!bf16) {
    if (contiguous) run(conv_gemm_f32_kernel<true>);
    else run(conv_gemm_f32_kernel<false>);
  } else if (wide) {
    if (contiguous) run(conv_gemm_bf16_kernel<kWideTileM, true>);
    else run(conv_gemm_bf16_kernel<kWideTileM, false>);
  } else {
    if (contiguous) run(conv_gemm_bf16_kernel<kNarrowTileM, true>);
    else run(conv_gemm_bf16_kernel<kNarrowTileM, false>);
  }
}

}  // namespace hs::kernels
