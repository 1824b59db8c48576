#include <string>

#include "kernels/common.cuh"
#include "kernels/flash_attention.cuh"

namespace hs::kernels {
namespace {

constexpr int kMmaM = 16, kMmaN = 8, kMmaK = 16;  // mma.sync.m16n8k16
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;
constexpr int kBlockQueries = kWarps * kMmaM;  // query rows of a block: 16 per warp
constexpr int kBlockKeys = 64;                 // keys per step
constexpr int kTileRows = kBlockKeys;          // a shared tile holds a key block or the query block
static_assert(kBlockQueries == kTileRows, "the query block is staged in the V tile");
constexpr int kVector = 8;  // bf16 per 16-byte shared-memory vector (one cp.async, one ldmatrix row)
// Tile rows are D + 8 bf16 apart: 16 bytes past a multiple of 128, so the 8 row addresses of an
// ldmatrix fall in 8 different 16-byte bank groups (conflict-free without a swizzle).
constexpr int kPad = 8;
constexpr int kFp32VectorsInFlight = 4;  // per thread, when staging fp32 sources
constexpr float kLog2e = 1.4426950408889634f;

template <int D>
using Tile = __nv_bfloat16[kTileRows][D + kPad];

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global → shared without registers; zero-filled when !valid (src must still be mapped).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(shared_address(dst)), "l"(src),
               "r"(valid ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

// Four 8×8 bf16 matrices; lanes 8i..8i+7 give the row addresses of matrix i, register i receives
// (row lane / 4, columns 2·(lane % 4), +1) of matrix i — or of its transpose with kTrans.
template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const __nv_bfloat16* row) {
  if constexpr (kTrans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(shared_address(row)));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(shared_address(row)));
}

// c (16×8, fp32) += a (16×16, bf16, row-major) · b (16×8, bf16, column-major).
__device__ __forceinline__ void mma_bf16(float (&c)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                         std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ std::uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}

// Rows 0..valid_rows of src (one head: row r at src + r·stride) into the tile as bf16, zeros
// below. bf16 sources go by cp.async (complete after cp_async_wait_all); fp32 sources through
// registers, several vectors' loads issued before their conversions.
template <int D, typename T>
__device__ __forceinline__ void stage_tile(Tile<D>& tile, const T* src, std::int64_t stride, int valid_rows) {
  constexpr int kVectorsPerRow = D / kVector;
  constexpr int kPerThread = kTileRows * kVectorsPerRow / kThreads;
  static_assert(kPerThread * kThreads == kTileRows * kVectorsPerRow);
  int rows[kPerThread], cols[kPerThread];
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const int vector = static_cast<int>(threadIdx.x) + i * kThreads;  // consecutive threads: one row
    rows[i] = vector / kVectorsPerRow;
    cols[i] = vector % kVectorsPerRow * kVector;
  }
  auto source = [&](int i) { return src + (rows[i] < valid_rows ? rows[i] : 0) * stride + cols[i]; };
  if constexpr (sizeof(T) == 2) {
#pragma unroll
    for (int i = 0; i < kPerThread; ++i) cp_async_16(&tile[rows[i]][cols[i]], source(i), rows[i] < valid_rows);
  } else {
    // Batches of kFp32VectorsInFlight vectors: enough loads in flight, registers bounded (a whole
    // head_dim-128 tile at once costs 64 registers and spills).
    constexpr int kBatch = kPerThread < kFp32VectorsInFlight ? kPerThread : kFp32VectorsInFlight;
#pragma unroll
    for (int i0 = 0; i0 < kPerThread; i0 += kBatch) {
      float4 lo[kBatch], hi[kBatch];
#pragma unroll
      for (int i = 0; i < kBatch; ++i) {
        const float4* p = reinterpret_cast<const float4*>(source(i0 + i));
        const bool valid = rows[i0 + i] < valid_rows;
        lo[i] = valid ? __ldg(p) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        hi[i] = valid ? __ldg(p + 1) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      }
#pragma unroll
      for (int i = 0; i < kBatch; ++i)
        *reinterpret_cast<uint4*>(&tile[rows[i0 + i]][cols[i0 + i]]) =
            make_uint4(pack_bf16(lo[i].x, lo[i].y), pack_bf16(lo[i].z, lo[i].w), pack_bf16(hi[i].x, hi[i].y),
                       pack_bf16(hi[i].z, hi[i].w));
    }
  }
}

__device__ __forceinline__ void store_pair(float* p, float a, float b) {
  *reinterpret_cast<float2*>(p) = make_float2(a, b);
}
__device__ __forceinline__ void store_pair(__nv_bfloat16* p, float a, float b) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(a, b);
}

}  // namespace

// grid (query blocks, heads, batch). Warp w owns query rows 16w..16w+15 of the block; lane (g =
// lane / 4, t = lane % 4) holds rows g and g + 8 of every mma result, columns 2t and 2t + 1 of each
// 8-wide tile. The query block goes once through the V tile into registers (the A operands of
// Q·Kᵀ). Then per key block: V_j is staged while S = Q·K_jᵀ and the online softmax run, K_{j+1}
// while O += P·V_j runs (FlashAttention-2's overlap, one K and one V tile: 34 KB for head_dim 128,
// under the 48 KB static limit; a second K/V stage would need an opt-in). S's accumulator layout is
// P's A-operand layout, so P goes from registers straight into the second mma.
template <int D, typename Q, typename KV, typename O>
static __global__ void __launch_bounds__(kThreads) flash_attention_kernel(FlashAttentionParams p) {
  await_previous_kernel();
  constexpr int kDSteps = D / kMmaK;             // k-steps of Q·Kᵀ
  constexpr int kKeySteps = kBlockKeys / kMmaK;  // k-steps of P·V
  constexpr int kScoreTiles = kBlockKeys / kMmaN;
  constexpr int kOutTiles = D / kMmaN;
  __shared__ __align__(16) Tile<D> k_tile;
  __shared__ __align__(16) Tile<D> v_tile;
  const int lane = static_cast<int>(threadIdx.x) % kWarpSize, warp = static_cast<int>(threadIdx.x) / kWarpSize;
  const int g = lane / 4, t = lane % 4;
  const std::int64_t q0 = static_cast<std::int64_t>(blockIdx.x) * kBlockQueries, h = blockIdx.y, b = blockIdx.z;
  const std::int64_t stride = p.heads * D;  // between consecutive frames of one head
  const Q* q = static_cast<const Q*>(p.q) + (b * p.seq + q0) * stride + h * D;
  const KV* k = static_cast<const KV*>(p.k) + b * p.keys * stride + h * D;
  const KV* v = static_cast<const KV*>(p.v) + b * p.keys * stride + h * D;
  const int key_blocks = static_cast<int>((p.keys + kBlockKeys - 1) / kBlockKeys);
  auto rows_in_block = [&](std::int64_t first, std::int64_t total, int block) {
    return static_cast<int>(total - first < block ? total - first : block);
  };

  stage_tile<D>(v_tile, q, stride, rows_in_block(q0, p.seq, kBlockQueries));
  stage_tile<D>(k_tile, k, stride, rows_in_block(0, p.keys, kBlockKeys));
  cp_async_commit();
  cp_async_wait_all();
  __syncthreads();
  // A operand of k-step s: rows 0-7 / 8-15 × columns 16s..+7 / 16s+8..+15 from lanes 0-7, 8-15,
  // 16-23, 24-31.
  std::uint32_t qa[kDSteps][4];
#pragma unroll
  for (int s = 0; s < kDSteps; ++s)
    ldmatrix_x4<false>(qa[s], &v_tile[warp * kMmaM + lane % 16][s * kMmaK + lane / 16 * 8]);
  __syncthreads();  // every warp holds its queries before V_0 overwrites them

  // Scores stay raw (unscaled) until the exponent: exp2((s − max)·scale), log2(e) folded in.
  const float scale = kLog2e * rsqrtf(static_cast<float>(D));
  float o[kOutTiles][4] = {};
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};  // this lane's columns only; the quad's lanes are summed at the end
  for (int j = 0; j < key_blocks; ++j) {
    const std::int64_t key0 = static_cast<std::int64_t>(j) * kBlockKeys;
    const int valid_keys = rows_in_block(key0, p.keys, kBlockKeys);
    stage_tile<D>(v_tile, v + key0 * stride, stride, valid_keys);
    cp_async_commit();

    // S = Q·K_jᵀ. An x4 ldmatrix of K rows (keys) gives the B operands of two 8-key tiles:
    // keys 0-7 / 8-15 × d 16s..+7 / 16s+8..+15 from lanes 0-7, 8-15 (first tile), 16-23, 24-31.
    float s[kScoreTiles][4] = {};
#pragma unroll
    for (int ds = 0; ds < kDSteps; ++ds) {
#pragma unroll
      for (int n = 0; n < kScoreTiles; n += 2) {
        std::uint32_t kb[4];
        ldmatrix_x4<false>(kb, &k_tile[n * kMmaN + lane % 8 + lane / 16 * 8][ds * kMmaK + lane / 8 % 2 * 8]);
        mma_bf16(s[n], qa[ds], kb[0], kb[1]);
        mma_bf16(s[n + 1], qa[ds], kb[2], kb[3]);
      }
    }
    if (valid_keys < kBlockKeys) {
#pragma unroll
      for (int n = 0; n < kScoreTiles; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (n * kMmaN + 2 * t + e % 2 >= valid_keys) s[n][e] = -INFINITY;
    }

    // Online softmax of rows g (r = 0: s[..][0..1]) and g + 8 (r = 1: s[..][2..3]). Every block
    // has a valid key, so the new maximum is finite and exp2(−inf) = 0 rescales the empty start.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float m = row_max[r];
#pragma unroll
      for (int n = 0; n < kScoreTiles; ++n) m = fmaxf(m, fmaxf(s[n][2 * r], s[n][2 * r + 1]));
      m = fmaxf(m, __shfl_xor_sync(kFullMask, m, 1));
      m = fmaxf(m, __shfl_xor_sync(kFullMask, m, 2));
      const float correction = exp2f((row_max[r] - m) * scale);
      row_max[r] = m;
      const float offset = m * scale;
      float sum = 0.0f;
#pragma unroll
      for (int n = 0; n < kScoreTiles; ++n)
#pragma unroll
        for (int e = 2 * r; e < 2 * r + 2; ++e) {
          s[n][e] = exp2f(fmaf(s[n][e], scale, -offset));
          sum += s[n][e];
        }
      row_sum[r] = row_sum[r] * correction + sum;
#pragma unroll
      for (int n = 0; n < kOutTiles; ++n) o[n][2 * r] *= correction, o[n][2 * r + 1] *= correction;
    }

    cp_async_wait_all();
    __syncthreads();  // V_j is staged and every warp is done with K_j
    if (j + 1 < key_blocks) {
      const std::int64_t next = key0 + kBlockKeys;
      stage_tile<D>(k_tile, k + next * stride, stride, rows_in_block(next, p.keys, kBlockKeys));
      cp_async_commit();
    }

    // O += P·V_j. P's A operand for keys 16ks..+15 is score tiles 2ks and 2ks + 1; a transposing
    // x4 ldmatrix of V rows (keys) gives the B operands of two 8-wide d tiles: keys 0-7 / 8-15 ×
    // d 0-7 from lanes 0-7 / 8-15, × d 8-15 from lanes 16-23 / 24-31.
#pragma unroll
    for (int ks = 0; ks < kKeySteps; ++ks) {
      const std::uint32_t pa[4] = {pack_bf16(s[2 * ks][0], s[2 * ks][1]), pack_bf16(s[2 * ks][2], s[2 * ks][3]),
                                   pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]),
                                   pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3])};
#pragma unroll
      for (int n = 0; n < kOutTiles; n += 2) {
        std::uint32_t vb[4];
        ldmatrix_x4<true>(vb, &v_tile[ks * kMmaK + lane % 8 + lane / 8 % 2 * 8][n * kMmaN + lane / 16 * 8]);
        mma_bf16(o[n], pa, vb[0], vb[1]);
        mma_bf16(o[n + 1], pa, vb[2], vb[3]);
      }
    }
    cp_async_wait_all();
    __syncthreads();  // K_{j+1} is staged and every warp is done with V_j
  }

  O* out = static_cast<O*>(p.out) + (b * p.seq + q0) * stride + h * D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = row_sum[r];
    sum += __shfl_xor_sync(kFullMask, sum, 1);
    sum += __shfl_xor_sync(kFullMask, sum, 2);
    const float inv = 1.0f / sum;
    const int row = warp * kMmaM + g + 8 * r;
    if (q0 + row >= p.seq) continue;
#pragma unroll
    for (int n = 0; n < kOutTiles; ++n)
      store_pair(out + row * stride + n * kMmaN + 2 * t, o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
  }
}

template <int D>
static void launch_flash_attention(const FlashAttentionParams& p, cudaStream_t stream) {
  const dim3 grid(blocks_for(p.seq, kBlockQueries), static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch));
  dispatch_element(p.q_type, [&](auto q_tag) {
    dispatch_element(p.kv_type, [&](auto kv_tag) {
      dispatch_element(p.out_type, [&](auto out_tag) {
        launch(flash_attention_kernel<D, decltype(q_tag), decltype(kv_tag), decltype(out_tag)>, grid, kThreads, stream,
               p);
      });
    });
  });
}

void flash_attention(const FlashAttentionParams& p, cudaStream_t stream) {
  if (p.batch * p.seq * p.heads == 0) return;
  constexpr std::uintptr_t kAlign = 16;  // cp.async / float4 vectors
  const bool aligned = (reinterpret_cast<std::uintptr_t>(p.q) | reinterpret_cast<std::uintptr_t>(p.k) |
                        reinterpret_cast<std::uintptr_t>(p.v) | reinterpret_cast<std::uintptr_t>(p.out)) %
                           kAlign ==
                       0;
  if (!flash_attention_supports(p.head_dim) || p.keys <= 0 || !aligned)
    throw CudaError("flash_attention: unsupported arguments (head_dim " + std::to_string(p.head_dim) + ", keys " +
                    std::to_string(p.keys) + (aligned ? ")" : ", pointers not 16-byte aligned)"));
  if (p.head_dim == 64) launch_flash_attention<64>(p, stream);
  else launch_flash_attention<128>(p, stream);
}

}  // namespace hs::kernels
