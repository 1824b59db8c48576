// The CPU backend: the fp32 reference implementation of the op set (STYLE.md 3). GEMMs go through
// BLAS; other ops are plain loops, parallel over rows where that pays. Ops are split over files
// by family (cpu_memory.cpp, cpu_lm_ops.cpp, cpu_attention.cpp, cpu_sampling.cpp, cpu_codec_ops.cpp).
#pragma once

#include "engine/core/backend.h"

namespace hs {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::Cpu; }
  std::string name() const override { return "cpu"; }
  DType activation_dtype() const override { return DType::F32; }

  // memory (cpu_memory.cpp)
  Tensor alloc(const Shape& shape, DType dtype) override;
  Tensor upload(const Tensor& host) override;
  Tensor download(const Tensor& device_tensor) override;
  void copy(const Tensor& src, Tensor& dst) override;
  Weight load_linear(const Tensor& weight, const Tensor* bias, Precision precision) override;
  Weight load_quantized_linear(const Tensor& values, const Tensor& scales, const Tensor* bias) override;
  Weight load_q4_linear(const Q4Weight& q, Q4Format format, const Tensor* bias) override;
  void synchronize() override {}

  // language model
  void embed_frame(const Tensor& audio_table, const Tensor& text_table, const Tensor& uncond_text,
                   std::int64_t audio_vocab, const Tensor& tokens, const Tensor& mask, const Tensor& uncond,
                   Tensor& out) override;
  void gather_rows(const Tensor& table, const Tensor& ids, std::int64_t id_offset, Tensor& out) override;
  void linear(const ScaledTensor& x, const Weight& w, Tensor& out) override;
  void linear_add(const ScaledTensor& x, const Weight& w, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& scale, float eps, Tensor& out) override;
  void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq) override;
  void kv_store(ScaledTensor cache, const Tensor& src, const Tensor& positions) override;
  void attention(const Tensor& q, const ScaledTensor& k, const ScaledTensor& v, const Tensor* positions,
                 Tensor& out) override;
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) override;
  void add(const Tensor& a, const Tensor& b, Tensor& out) override;
  void sample(const Tensor& logits, const SamplingParams& params, Tensor& rng, Tensor& token,
              Tensor* guided) override;

  // many songs per step (cpu_batch_ops.cpp)
  void rope_store_paged(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions, const Tensor& inv_freq,
                        const Tensor& slots, ScaledTensor k_pool, ScaledTensor v_pool) override;
  void paged_attention(const Tensor& q, const ScaledTensor& k_pool, const ScaledTensor& v_pool, const Tensor& block_tables,
                       const Tensor& kv_rows, const Tensor& positions, Tensor& out) override;
  void sample_rows(const Tensor& logits, const SongSampling& songs, Tensor& rng, Tensor& song_tokens,
                   Tensor& row_tokens) override;
  void token_columns(const Tensor& src, Tensor& dst) override;
  void write(const Tensor& host, Tensor& dst) override;

  // codec (cpu_codec_conv.cpp: convolutions through im2col + BLAS; cpu_codec_ops.cpp: the rest)
  void conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv1dParams& params,
              Tensor& out) override;
  void conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias, std::int64_t stride,
                        std::int64_t skip, Tensor& out) override;
  void prelu(const Tensor& x, const Tensor& alpha, Tensor& out) override;
  void layer_norm(const Tensor& x, float eps, Tensor& out) override;
  void modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& out) override;
  void modulation_vectors(const Tensor& adaln, const Tensor& tables, Tensor& out) override;
  void sum_taps(const Tensor& taps, const Tensor* bias, Tensor& out) override;
  void gated_add(const Tensor& x, const Tensor& y, const Tensor& gate, Tensor& out) override;
  void silu(const Tensor& x, Tensor& out) override;
  void add_row(const Tensor& x, const Tensor& row, Tensor& out) override;
  void axpby(float alpha, const Tensor& a, float beta, const Tensor& b, Tensor& out) override;
  void transpose(const Tensor& x, Tensor& out) override;
  void write_columns(const Tensor& src, Tensor& dst, std::int64_t offset) override;
  void read_columns(const Tensor& src, std::int64_t offset, Tensor& dst) override;
  void round_to_grid(const Tensor& x, float levels, Tensor& out) override;
  void repeat_last(const Tensor& x, std::int64_t factor, Tensor& out) override;
  void timestep_embedding(const Tensor& t, float scale, float max_period, Tensor& out) override;
  void crossfade(const Tensor& a, const Tensor& b, Tensor& out) override;
};

}  // namespace hs
