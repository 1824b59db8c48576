// The op set the models are written against. A backend owns device memory and executes ops on
// tensors that live on its device; model code never sees CUDA or BLAS (DESIGN.md "Layers").
//
// Conventions, so that a CUDA backend can capture a whole frame step in one graph:
// - every op writes into a caller-provided output tensor (no allocation inside ops);
// - anything that changes per step (positions, token ids, RNG counters) is passed as a tensor on
//   the backend's device, never as a host scalar;
// - tensors are contiguous and row-major; shapes are checked and a mismatch throws InvalidArgument.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/core/tensor.h"

namespace hs {

// Compute format of linear-layer weights.
enum class Precision : std::uint8_t { F32, BF16, FP8 };

// A linear layer prepared for one backend: y = x · valuesᵀ (· scales) + bias.
struct Weight {
  Tensor values;  // [out, in] in the backend's weight format
  Tensor scales;  // fp8 only: fp32 [out] per-output-channel scales; undefined otherwise
  Tensor bias;    // fp32 [out] or undefined
  std::int64_t out_features() const { return values.dim(0); }
  std::int64_t in_features() const { return values.dim(1); }
};

// Sampling settings of one request (REFERENCE.md "Sampling").
struct SamplingParams {
  float temperature = 1.0f;  // <= 0 means greedy
  int topk = 50;             // 1 means greedy
  float cfg_scale = 1.0f;    // used when the logits hold a (cond, uncond) pair
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  // The float dtype activations are computed in (F32 on the CPU backend).
  virtual DType activation_dtype() const = 0;

  // ---- memory -----------------------------------------------------------------------------
  // A zero-filled tensor on this backend's device.
  virtual Tensor alloc(const Shape& shape, DType dtype) = 0;
  // A device copy of a host tensor; float tensors are converted to activation_dtype(),
  // integer and bool tensors keep their dtype.
  virtual Tensor upload(const Tensor& host) = 0;
  // A host copy of a device tensor; float tensors come back as F32.
  virtual Tensor download(const Tensor& device_tensor) = 0;
  // dst = src (same shape and dtype, both on this device).
  virtual void copy(const Tensor& src, Tensor& dst) = 0;
  // Converts a stored [out, in] weight (any float dtype, host) to this backend's format.
  virtual Weight load_linear(const Tensor& weight, const Tensor* bias, Precision precision) = 0;
  // Waits for all queued work.
  virtual void synchronize() = 0;

  // ---- language model ---------------------------------------------------------------------
  // out[r] = Σ_c mask[r,c] · E_c(tokens[r,c]) for rows r of tokens/mask [R, 9] (I32 / U8) where
  // E_c(t) = audio_table[t + c·audio_vocab] for c < 8 and text_table[t] for c = 8, except that
  // rows with uncond[r] != 0 (U8 [R]) use uncond_text [1, D] for column 8. out: [R, D].
  virtual void embed_frame(const Tensor& audio_table, const Tensor& text_table, const Tensor& uncond_text,
                           std::int64_t audio_vocab, const Tensor& tokens, const Tensor& mask,
                           const Tensor& uncond, Tensor& out) = 0;
  // out[n] = table[ids[n] + id_offset] for ids I32 [N]; out [N, D].
  virtual void gather_rows(const Tensor& table, const Tensor& ids, std::int64_t id_offset, Tensor& out) = 0;
  // out [N, out] = x [N, in] · Wᵀ + bias.
  virtual void linear(const Tensor& x, const Weight& w, Tensor& out) = 0;
  // out = x / sqrt(mean(x²) + eps) · scale, over the last dimension of x [N, D].
  virtual void rms_norm(const Tensor& x, const Tensor& scale, float eps, Tensor& out) = 0;
  // Interleaved rotary embedding in place: x [B, S, H, hd], pairs (2j, 2j+1) of token s rotated by
  // positions[s] · inv_freq[j]; positions I32 [S], inv_freq F32 [hd/2].
  virtual void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq) = 0;
  // cache[b, positions[s]] = src[b, s] for cache [B, T, KV, hd], src [B, S, KV, hd].
  virtual void kv_store(Tensor& cache, const Tensor& src, const Tensor& positions) = 0;
  // Scaled dot-product attention, grouped-query: q [B, S, H, hd], k, v [B, T, KV, hd] → out
  // [B, S, H, hd]; query head h reads kv head h / (H / KV); scale 1/sqrt(hd). With positions
  // (I32 [S]) query s sees keys 0..positions[s] (causal over a cache); without, all T keys.
  virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* positions,
                         Tensor& out) = 0;
  // out = silu(gate) · up, elementwise.
  virtual void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) = 0;
  // out = a + b, elementwise (out may alias a).
  virtual void add(const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // Draws one token from logits [R, V] (R = 1, or 2 = (cond, uncond) combined with cfg_scale as
  // uncond + (cond − uncond)·cfg_scale): temperature, top-k, exact categorical draw from the
  // counter-based RNG rng (I64 [2] = {seed, counter}; the counter advances by one per call).
  // token: I32 [1]. guided (optional, F32 [V]) receives the combined logits before temperature.
  virtual void sample(const Tensor& logits, const SamplingParams& params, Tensor& rng, Tensor& token,
                      Tensor* guided) = 0;

  // ---- codec ------------------------------------------------------------------------------
  // (added with the codec: convolutions, transposed convolutions, PReLU, LayerNorm, AdaLN
  //  modulation, gated residuals — see engine/model/codec)
};

}  // namespace hs
