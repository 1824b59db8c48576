// The CPU backend's linear GEMM: out[r, o] = Σ_k x[r, k] · w[o, k], computed so that a row's result
// depends on nothing but that row — not on how many rows the call has nor where the row sits.
// Songs stepped or decoded beside others (MulaBatch, CodecBatch) then get exactly their solo
// results. OpenBLAS does not promise that (measured, 0.3.21 on x86-64: sgemv and sgemm disagree,
// and an sgemm row's result depends on the row count and its position), hence this kernel: every
// output is one fixed-order sum — lane j of an 8-wide accumulator takes k ≡ j (mod 8), a fixed
// tree adds the lanes, then the k past the last multiple of 8 in order.
#pragma once

#include <cstdint>

namespace hs::cpu {

// x [rows, in], w [outs, in], out [rows, outs] (row-major); out += the product when `accumulate`.
void row_invariant_gemm(const float* x, const float* w, float* out, std::int64_t rows, std::int64_t outs,
                        std::int64_t in, bool accumulate);

}  // namespace hs::cpu
