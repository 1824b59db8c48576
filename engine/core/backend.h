// The op set the models are written against. A backend owns device memory and executes ops on
// tensors that live on its device; model code never sees CUDA or BLAS (DESIGN.md "Layers").
//
// Conventions, so that a CUDA backend can capture a whole frame step in one graph:
// - every op writes into a caller-provided output tensor (no allocation inside ops);
// - anything that changes per step (positions, token ids, RNG counters) is passed as a tensor on
//   the backend's device, never as a host scalar;
// - tensors are contiguous and row-major; shapes are checked and a mismatch throws InvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "engine/core/error.h"
#include "engine/core/q4_quantize.h"
#include "engine/core/tensor.h"

namespace hs {

// Compute format of linear-layer weights. NF4 / INT4: 4-bit codes with a scale per block of 64
// (engine/core/q4_quantize.h; experimental, the language model's linears only).
enum class Precision : std::uint8_t { F32, BF16, FP8, NF4, INT4 };

inline bool is_4bit(Precision p) { return p == Precision::NF4 || p == Precision::INT4; }

// The 4-bit table of NF4 / INT4; none for the other precisions.
inline std::optional<Q4Format> q4_format(Precision p) {
  if (!is_4bit(p)) return std::nullopt;
  return p == Precision::NF4 ? Q4Format::NF4 : Q4Format::INT4;
}

// The 4-bit table of an NF4 / INT4 linear `in` wide; none for the other precisions, and for rows
// that are not whole blocks of kQ4Block (those linears stay bf16).
inline std::optional<Q4Format> q4_format(Precision p, std::int64_t in) {
  return in % kQ4Block == 0 ? q4_format(p) : std::nullopt;
}

// A linear layer prepared for one backend: y = x · valuesᵀ (· scales) + bias.
struct Weight {
  Tensor values;  // [out, in] in the backend's weight format; 4-bit: U8 [out, in / 2] codes
  Tensor scales;  // fp8: fp32 [out] per-output-channel scales; 4-bit: fp32 [out, in / 64]; else undefined
  Tensor bias;    // fp32 [out] or undefined
  // Rows of values' storage (≥ out; the rows past out are zeros): a backend pads weights whose GEMMs
  // want a multiple of 16 rows. 0: out.
  std::int64_t stored_rows = 0;
  std::optional<Q4Format> q4;  // set when values hold 4-bit codes of this table
  std::int64_t out_features() const { return values.dim(0); }
  std::int64_t in_features() const { return q4 ? 2 * values.dim(1) : values.dim(1); }
};

// A tensor whose vectors along the last dimension may be stored in fp8: data in the activation or
// narrow dtype, or F8_E4M3 with scale F32 [..] (data's shape without its last dimension), one per
// vector: a stored vector x is e4m3(x / s) with s = max |x| / 448 (1 for an all-zero vector; the
// fp8 weight rule of engine/core/fp8_quantize.h applied per vector), and reads back as e4m3 · s.
// Half the bytes of bf16. Keys or values of a KV cache ([.., kv_heads, head_dim]: a scale per
// position and kv head) and the fp8 GEMM inputs of Backend::gemm_input_dtype ([rows, in]: a scale
// per row) are such tensors.
struct ScaledTensor {
  ScaledTensor(Tensor data) : data(std::move(data)) {}  // implicit: a plain tensor is its data
  ScaledTensor(Tensor data, Tensor scale) : data(std::move(data)), scale(std::move(scale)) {}
  bool fp8() const { return data.dtype() == DType::F8_E4M3; }
  // Rows [begin, end) of dimension 0 of both.
  ScaledTensor slice(std::int64_t begin, std::int64_t end) const {
    return fp8() ? ScaledTensor(data.slice(begin, end), scale.slice(begin, end)) : ScaledTensor(data.slice(begin, end));
  }
  Tensor data, scale;
};

// Geometry of a 1-D convolution (Backend::conv1d).
struct Conv1dParams {
  std::int64_t stride = 1;
  std::int64_t dilation = 1;
  std::int64_t pad_left = 0;   // zeros before the input
  std::int64_t pad_right = 0;  // zeros after the input
};

// Sampling settings of one request (REFERENCE.md "Sampling").
struct SamplingParams {
  float temperature = 1.0f;  // <= 0 means greedy
  int topk = 50;             // 1 means greedy
  float cfg_scale = 1.0f;    // used when the logits hold a (cond, uncond) pair
  // Ids in [blocked_begin, blocked_end) are never drawn (their logits count as −∞ after guidance).
  std::int32_t blocked_begin = 0;
  std::int32_t blocked_end = 0;
};

// Per-song sampling settings of Backend::sample_rows, device tensors indexed by song.
struct SongSampling {
  Tensor first_row;    // I32 [S]: the song's (conditional) logits row; −1: no song
  Tensor cfg;          // U8 [S]: 1 when row first_row + 1 holds the unconditional twin
  Tensor temperature;  // F32 [S]
  Tensor topk;         // I32 [S]
  Tensor cfg_scale;    // F32 [S]
  Tensor blocked;      // I32 [S, 2]: SamplingParams::blocked_begin, blocked_end
};

// A sequence of ops recorded by Backend::capture, replayed with one launch (a CUDA Graph).
class OpGraph {
 public:
  virtual ~OpGraph() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  // What the backend runs on and how, for logs (the CUDA backend: the GPU, its compute capability
  // and the fp8 GEMM path); empty when there is nothing to add to name().
  virtual std::string details() const { return {}; }
  // The float dtype activations are computed in (F32 on the CPU backend).
  virtual DType activation_dtype() const = 0;
  // The dtype of tensors only ever read by a linear or by attention (normalised GEMV inputs, the
  // DiT's q, k and v, the attention output, SwiGLU products, the KV cache): activation_dtype() or
  // narrower (BF16 on CUDA, where those reads cost bandwidth; the residual stream and logits stay
  // activation_dtype()) with `weights` in that precision; F32 weights keep everything in
  // activation_dtype(). Ops that produce such tensors accept it as their output dtype.
  virtual DType narrow_dtype(Precision weights) const { return activation_dtype(); }
  // The dtype of a linear's x that the op making it may write (rms_norm_modulate, linear_swiglu):
  // narrow_dtype(weights), or F8_E4M3 (a ScaledTensor with a scale per row) where the GEMMs of
  // `weights` run on row-quantized fp8 inputs anyway (CUDA with fp8 tensor cores), so that the
  // producer quantizes on its way out instead of a pass of its own before each GEMM. A linear
  // given fp8 x at shapes that take another path (decode rows: the GEMV) widens it first.
  virtual DType gemm_input_dtype(Precision weights) const { return narrow_dtype(weights); }

  // ---- memory -----------------------------------------------------------------------------
  // A zero-filled tensor on this backend's device.
  virtual Tensor alloc(const Shape& shape, DType dtype) = 0;
  // A device copy of a host tensor; float tensors are converted to activation_dtype(),
  // integer and bool tensors keep their dtype.
  virtual Tensor upload(const Tensor& host) = 0;
  // A device copy keeping the host dtype, for small fp32 tables that must not be rounded to a
  // narrower activation dtype (RoPE frequencies). On an fp32 backend this is upload().
  virtual Tensor upload_exact(const Tensor& host) { return upload(host); }
  // upload_exact for an embedding table of which each step reads a few rows (embed_frame,
  // gather_rows' tables): the backend may keep it outside its device memory.
  virtual Tensor upload_table(const Tensor& host) { return upload_exact(host); }
  // A host copy of a device tensor; float tensors come back as F32.
  virtual Tensor download(const Tensor& device_tensor) = 0;
  // dst = src (same shape and dtype, both on this device).
  virtual void copy(const Tensor& src, Tensor& dst) = 0;
  // dst[i] = src[i] for every i (each pair as copy()), in one launch where the backend can: the
  // gather and scatter of many small per-song states around a batched call. The pairs must not
  // overlap one another.
  virtual void copy_many(std::span<const Tensor> src, std::span<Tensor> dst) {
    if (src.size() != dst.size())
      throw InvalidArgument("copy_many: " + std::to_string(src.size()) + " sources for " +
                            std::to_string(dst.size()) + " destinations");
    for (std::size_t i = 0; i < src.size(); ++i) copy(src[i], dst[i]);
  }
  // Converts a stored [out, in] weight (any float dtype, host) to this backend's format. FP8
  // quantizes on the host (quantize_e4m3_rows, engine/core/fp8_quantize.h) and is then
  // load_quantized_linear, so every fp8 weight follows that one rule.
  virtual Weight load_linear(const Tensor& weight, const Tensor* bias, Precision precision) = 0;
  // A linear from weights already quantized by quantize_e4m3_rows (or read back from the fp8
  // weight cache): values F8_E4M3 [out, in] and scales F32 [out], host tensors, bias fp32 [out]
  // or null. The values are taken exactly (never re-quantized): a device that computes in fp8
  // holds them as they are; the CPU backend holds values · scales in fp32 (fp8 simulated).
  virtual Weight load_quantized_linear(const Tensor& values, const Tensor& scales, const Tensor* bias) = 0;
  // A linear from 4-bit codes already made by quantize_q4 (or read back from a 4-bit weight cache):
  // codes U8 [out, in / 2] and block scales F32 [out, in / 64], host tensors, taken exactly.
  virtual Weight load_q4_linear(const Q4Weight& q, Q4Format format, const Tensor* bias) = 0;
  // Waits for all queued work.
  virtual void synchronize() = 0;
  // Device memory this backend's own allocations hold now, and the most they have held at once
  // (0 on the CPU).
  virtual std::size_t allocated_bytes() const { return 0; }
  virtual std::size_t peak_allocated_bytes() const { return 0; }

  // ---- language model ---------------------------------------------------------------------
  // out[r] = Σ_c mask[r,c] · E_c(tokens[r,c]) for rows r of tokens/mask [R, 9] (I32 / U8) where
  // E_c(t) = audio_table[t + c·audio_vocab] for c < 8 and text_table[t] for c = 8, except that
  // rows with uncond[r] != 0 (U8 [R]) use uncond_text [1, D] for column 8. out: [R, D].
  virtual void embed_frame(const Tensor& audio_table, const Tensor& text_table, const Tensor& uncond_text,
                           std::int64_t audio_vocab, const Tensor& tokens, const Tensor& mask,
                           const Tensor& uncond, Tensor& out) = 0;
  // out[n] = table[ids[n] + id_offset] for ids I32 [N]; out [N, D]. The tables of these two ops may
  // be in the narrow dtype (widened as read).
  virtual void gather_rows(const Tensor& table, const Tensor& ids, std::int64_t id_offset, Tensor& out) = 0;
  // out [N, out] = x [N, in] · Wᵀ + bias; x in the activation dtype, out in it or F32.
  virtual void linear(const ScaledTensor& x, const Weight& w, Tensor& out) = 0;
  // out [N, out] += x [N, in] · Wᵀ + bias: the projection added into a residual stream, which may
  // be F32 on any backend (norms and residual adds stay fp32, DESIGN.md "Precision").
  virtual void linear_add(const ScaledTensor& x, const Weight& w, Tensor& out) = 0;
  // outs[i] [N, out_i] = x · W_iᵀ (+ bias_i) for w = [W_0; W_1; …] stacked by rows, out i taking the
  // next out_i features: several projections of one x (q, k, v) that a backend may run as one.
  virtual void linear_parts(const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs) {
    std::int64_t begin = 0;
    for (Tensor* out : outs) {
      const std::int64_t end = begin + out->dim(1);
      auto rows = [&](const Tensor& t) { return t.defined() ? t.slice(begin, end) : Tensor(); };
      linear(x, Weight{rows(w.values), rows(w.scales), rows(w.bias), 0, w.q4}, *out);
      begin = end;
    }
  }
  // linear_parts, then rope on the first `rotated` outputs, each [N, H · hd] viewed as [N / S, S, H,
  // hd] for positions [S] and inv_freq [hd / 2]: a DiT block's q, k (rotated) and v from one
  // projection, which a backend may rotate in the projection's epilogue.
  virtual void linear_parts_rope(const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs,
                                 std::size_t rotated, const Tensor& positions, const Tensor& inv_freq) {
    linear_parts(x, w, outs);
    const std::int64_t seq = positions.dim(0), head_dim = 2 * inv_freq.dim(0);
    for (std::size_t i = 0; i < rotated; ++i) {
      Tensor heads = outs[i]->reshape({outs[i]->dim(0) / seq, seq, outs[i]->dim(1) / head_dim, head_dim});
      rope(heads, positions, inv_freq);
    }
  }
  // SwiGLU's hidden layer out [N, F] = silu(x · W1ᵀ) · (x · W3ᵀ) for w = [W1; W3] stacked by rows
  // ([2F, in], no bias); gate and up [N, F] (activation dtype) are scratch for the two projections,
  // which a backend may fuse away. out in the activation or the narrow dtype, or fp8 where
  // gemm_input_dtype says so.
  virtual void linear_swiglu(const ScaledTensor& x, const Weight& w, Tensor& gate, Tensor& up, ScaledTensor out) {
    const std::int64_t f = w.out_features() / 2;
    auto half = [&](std::int64_t begin) {
      return Weight{w.values.slice(begin, begin + f), w.scales.defined() ? w.scales.slice(begin, begin + f) : Tensor(),
                    Tensor(), 0, w.q4};
    };
    linear(x, half(0), gate);
    linear(x, half(f), up);
    Tensor product = plain(out, "linear_swiglu");
    silu_mul(gate, up, product);
  }
  // out = x / sqrt(mean(x²) + eps) · scale, over the last dimension of x [N, D].
  virtual void rms_norm(const Tensor& x, const Tensor& scale, float eps, Tensor& out) = 0;
  // Interleaved rotary embedding in place: x [B, S, H, hd], pairs (2j, 2j+1) of token s rotated by
  // positions[s] · inv_freq[j]; positions I32 [S], inv_freq F32 [hd/2].
  virtual void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq) = 0;
  // cache[b, positions[s]] = src[b, s] for cache [B, T, KV, hd], src [B, S, KV, hd] (an fp8 cache:
  // quantized as ScaledTensor says).
  virtual void kv_store(ScaledTensor cache, const Tensor& src, const Tensor& positions) = 0;
  // An attention layer's step: rope on q and k (in place), then k and v into their caches. A
  // backend may fuse the four.
  virtual void rope_store(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions, const Tensor& inv_freq,
                          ScaledTensor k_cache, ScaledTensor v_cache) {
    rope(q, positions, inv_freq);
    rope(k, positions, inv_freq);
    kv_store(k_cache, k, positions);
    kv_store(v_cache, v, positions);
  }
  // Scaled dot-product attention, grouped-query: q [B, S, H, hd], k, v [B, T, KV, hd] → out
  // [B, S, H, hd]; query head h reads kv head h / (H / KV); scale 1/sqrt(hd). With positions
  // (I32 [S]) query s sees keys 0..positions[s] (causal over a cache); without, all T keys. k and v
  // may be an fp8 cache (ScaledTensor); q, k and v may be in the narrow dtype.
  virtual void attention(const Tensor& q, const ScaledTensor& k, const ScaledTensor& v, const Tensor* positions,
                         Tensor& out) = 0;
  // out = silu(gate) · up, elementwise (out may alias gate or up).
  virtual void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) = 0;
  // out = a + b, elementwise (out may alias a).
  virtual void add(const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // Draws one token from logits [R, V] (R = 1, or 2 = (cond, uncond) combined with cfg_scale as
  // uncond + (cond − uncond)·cfg_scale): temperature, top-k, exact categorical draw from the
  // counter-based RNG rng (I64 [2] = {seed, counter}; the counter advances by one per call).
  // token: I32 [1]. guided (optional, F32 [V]) receives the combined logits before temperature.
  virtual void sample(const Tensor& logits, const SamplingParams& params, Tensor& rng, Tensor& token,
                      Tensor* guided) = 0;

  // ---- many songs per step (engine/model/lm/mula_batch.h) ----------------------------------
  // A paged KV cache: per layer a pool [blocks, block_size, KV, hd] for keys and one for values;
  // position p of KV row r lives at pool slot block_tables[r, p / block_size] · block_size +
  // p % block_size (block_tables I32 [rows, max_blocks]). The pools may be fp8 (ScaledTensor: scales
  // [blocks, block_size, KV]).

  // rope on q [N, H, hd] and k [N, KV, hd], token n at positions[n] (I32 [N]), then k and v [N,
  // KV, hd] of token n into pool slot slots[n] (I32 [N]); a negative slot (a padding token) stores
  // nothing.
  virtual void rope_store_paged(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions,
                                const Tensor& inv_freq, const Tensor& slots, ScaledTensor k_pool,
                                ScaledTensor v_pool) = 0;
  // attention() for token n of q [N, H, hd] over keys 0..positions[n] of KV row kv_rows[n] (I32 [N]),
  // read through block_tables; out [N, H, hd]. A token with a negative KV row gets zeros. A token's
  // result does not depend on the other tokens.
  virtual void paged_attention(const Tensor& q, const ScaledTensor& k_pool, const ScaledTensor& v_pool,
                               const Tensor& block_tables, const Tensor& kv_rows, const Tensor& positions,
                               Tensor& out) = 0;
  // sample() for every song s of a batch whose logits [R, V] hold song s at rows first_row[s] (and
  // first_row[s] + 1, its unconditional twin, when cfg[s]), each with its own parameters and RNG:
  // rng I64 [S, 2]. Writes the token into song_tokens I32 [S] and into row_tokens I32 [R] at each
  // of the song's rows; songs with first_row[s] < 0 are skipped (their rng does not advance).
  virtual void sample_rows(const Tensor& logits, const SongSampling& songs, Tensor& rng, Tensor& song_tokens,
                           Tensor& row_tokens) = 0;
  // dst[r, c] = src[c, r] for src I32 [C, R] and dst I32 [R, W], c < C ≤ W (the other columns of
  // dst are kept): a step's codebook-major tokens into per-row token rows (embed_frame's layout).
  virtual void token_columns(const Tensor& src, Tensor& dst) = 0;
  // dst = host (same shape and dtype) without allocating: a step's plan written before a replay.
  virtual void write(const Tensor& host, Tensor& dst) = 0;

  // counter[0] += delta for an I32 [1] tensor on this device: a position that advances every
  // frame without a host write, so a captured frame step replays unchanged.
  virtual void increment(Tensor& counter, std::int32_t delta) {
    Tensor host = download(counter);
    host.data<std::int32_t>()[0] += delta;
    copy(upload(host), counter);
  }

  // ---- graph capture (optional) -----------------------------------------------------------
  // Records the ops `record` enqueues into a graph (nothing runs while recording; `record` must
  // not upload, download or allocate). Null from backends that cannot capture (or when capture
  // is switched off): the caller then runs the ops itself.
  virtual std::shared_ptr<OpGraph> capture(const std::function<void()>& record) { return nullptr; }
  // Runs a graph this backend captured.
  virtual void replay(OpGraph& graph) { throw InvalidArgument(name() + " backend cannot replay graphs"); }

  // ---- codec ------------------------------------------------------------------------------
  // Layouts: the DiT works time-major ([B, T, C], rows = frames); the scalar decoder works
  // channel-major ([B, C, T], the time axis last). Host scalars below are fixed per call site
  // (kernel sizes, the Euler schedule), so a captured graph stays valid across replays.

  // out [B, Cout, Tout] = conv1d(x [B, Cin, T], weight [Cout, Cin, K]) + bias [Cout] (optional):
  // out[b,o,t] = bias[o] + Σ_{c,k} weight[o,c,k] · xp[b, c, t·stride + k·dilation], where xp is x
  // with pad_left zeros before and pad_right zeros after; Tout = (T + pad_left + pad_right −
  // dilation·(K−1) − 1) / stride + 1 must be out.dim(2).
  virtual void conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv1dParams& params,
                      Tensor& out) = 0;
  // conv1d, then out = prelu(out, alpha) (alpha F32 [1] or [Cout]): a backend may fuse the two.
  virtual void conv1d_prelu(const Tensor& x, const Tensor& weight, const Tensor* bias, const Tensor& alpha,
                            const Conv1dParams& params, Tensor& out) {
    conv1d(x, weight, bias, params, out);
    prelu(out, alpha, out);
  }
  // Transposed conv of x [B, Cin, T] with weight [Cin, Cout, K] (+ bias [Cout]), whose full output
  // has length (T−1)·stride + K: full[b,o,j] = bias[o] + Σ_{c,t,k : t·stride+k = j} weight[c,o,k] ·
  // x[b,c,t]. out [B, Cout, L] receives full[b, o, skip .. skip+L) (skip + L ≤ full length), so a
  // causal trim or a streamed chunk needs no copy.
  virtual void conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias, std::int64_t stride,
                                std::int64_t skip, Tensor& out) = 0;
  // out = x ≥ 0 ? x : alpha · x for x [B, C, T]; alpha F32 [1] (shared) or [C] (per channel)
  // (out may alias x).
  virtual void prelu(const Tensor& x, const Tensor& alpha, Tensor& out) = 0;
  // LayerNorm without affine over the last dimension of x [N, D]: (x − mean) / sqrt(var + eps)
  // (out may alias x).
  virtual void layer_norm(const Tensor& x, float eps, Tensor& out) = 0;
  // AdaLN modulation: out[b,t,:] = x[b,t,:] · (1 + scale[b,:]) + shift[b,:] for x [B, T, D],
  // shift and scale [B, D] (out may alias x).
  virtual void modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& out) = 0;
  // AdaLN-modulated RMSNorm: modulate(rms_norm(x, weight, eps), shift, scale) for x [B, T, D],
  // weight [D], shift and scale [B, D]; out [B, T, D] in the activation or the narrow dtype (a GEMM
  // input), or fp8 (scale [B, T]) where gemm_input_dtype says so; a backend may write it in one pass.
  virtual void rms_norm_modulate(const Tensor& x, const Tensor& weight, float eps, const Tensor& shift,
                                 const Tensor& scale, ScaledTensor out) {
    Tensor rows = plain(out, "rms_norm_modulate").reshape({x.dim(0) * x.dim(1), x.dim(2)});
    rms_norm(x.reshape(rows.shape()), weight, eps, rows);
    modulate(out.data, shift, scale, out.data);
  }
  // The DiT's gated residual around a projection: out[b,t,:] += gate[b,:] · (x · Wᵀ + bias)[b·T + t]
  // for x [B·T, in], gate [B, out], out [B, T, out] (F32); proj [B·T, out] (F32) is scratch for
  // the projection, which a backend may fuse away.
  virtual void linear_gated_add(const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& proj,
                                Tensor& out) {
    linear(x, w, proj);
    gated_add(out, proj.reshape(out.shape()), gate, out);
  }
  // linear_gated_add, then rms_norm_modulate(out, norm_weight, eps, shift, scale, norm): a DiT
  // block's residual update and the norm that reads it next, which a backend may run as one pass
  // over each row after the projection's GEMM.
  virtual void linear_gated_add_norm(const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& proj,
                                     Tensor& out, const Tensor& norm_weight, float eps, const Tensor& shift,
                                     const Tensor& scale, ScaledTensor norm) {
    linear_gated_add(x, w, gate, proj, out);
    rms_norm_modulate(out, norm_weight, eps, shift, scale, norm);
  }
  // A 'same'-padded conv of odd kernel K from its per-tap products: out[b,t,:] = bias + Σ_j
  // taps[b, t + j − (K−1)/2, j·C : (j+1)·C] over the taps inside [0, T), for taps [B, T, K·C]
  // (x · [W_0; …; W_{K−1}]ᵀ, one linear), bias [C] or null, out [B, T, C] (F32).
  virtual void sum_taps(const Tensor& taps, const Tensor* bias, Tensor& out) = 0;
  // A DiT stack's AdaLN vectors: out[l, g, b, :] = adaln[b, g·D : (g+1)·D] + tables[l, g·D : (g+1)·D]
  // for adaln [B, G·D], tables [L, G·D] (each block's scale_shift_table), out [L, G, B, D].
  virtual void modulation_vectors(const Tensor& adaln, const Tensor& tables, Tensor& out) = 0;
  // Gated residual: out[b,t,:] = x[b,t,:] + gate[b,:] · y[b,t,:] for x, y [B, T, D], gate [B, D]
  // (out may alias x).
  virtual void gated_add(const Tensor& x, const Tensor& y, const Tensor& gate, Tensor& out) = 0;
  // out = x · sigmoid(x), elementwise (out may alias x).
  virtual void silu(const Tensor& x, Tensor& out) = 0;
  // out[r, :] = x[r, :] + row for x [R, N], row [N] (out may alias x).
  virtual void add_row(const Tensor& x, const Tensor& row, Tensor& out) = 0;
  // out = alpha · a + beta · b, elementwise (out may alias a or b).
  virtual void axpby(float alpha, const Tensor& a, float beta, const Tensor& b, Tensor& out) = 0;
  // out [A, N, M] = x [A, M, N] with its last two dimensions swapped (rank 2 means A = 1).
  virtual void transpose(const Tensor& x, Tensor& out) = 0;
  // Column copies over the last dimension, every other dimension flattened into rows R:
  // dst[r, offset + j] = src[r, j] for src [R, n], dst [R, N] (concatenation, carrying state) ...
  virtual void write_columns(const Tensor& src, Tensor& dst, std::int64_t offset) = 0;
  // ... and dst[r, j] = src[r, offset + j] for src [R, N], dst [R, n] (splitting, trimming).
  virtual void read_columns(const Tensor& src, std::int64_t offset, Tensor& dst) = 0;
  // out = round(x · levels) / levels, rounding halves to even (torch.round) (out may alias x).
  virtual void round_to_grid(const Tensor& x, float levels, Tensor& out) = 0;
  // Nearest-neighbour upsampling of the last dimension: out[..., t·factor + i] = x[..., t].
  virtual void repeat_last(const Tensor& x, std::int64_t factor, Tensor& out) = 0;
  // Sinusoidal timestep embedding, out [B, D] for t F32 [B] (D even, h = D/2):
  // out[b,i] = cos(t[b]·scale·f_i), out[b,h+i] = sin(t[b]·scale·f_i), f_i = max_period^(−i/h).
  virtual void timestep_embedding(const Tensor& t, float scale, float max_period, Tensor& out) = 0;
  // Linear cross-fade over the last dimension (length n): out[r,j] = a[r,j]·(1 − w_j) + b[r,j]·w_j,
  // w_j = j / (n−1) (out may alias a or b).
  virtual void crossfade(const Tensor& a, const Tensor& b, Tensor& out) = 0;

 protected:
  // t's data, for the default ops above, which write no fp8 (they run where gemm_input_dtype is not).
  Tensor plain(const ScaledTensor& t, std::string_view op) const {
    if (t.fp8()) throw InvalidArgument(name() + " " + std::string(op) + ": no fp8 output on this path");
    return t.data;
  }
};

}  // namespace hs
