// The CUDA backend: the op set on one NVIDIA GPU through hs_kernels (DESIGN.md "GPU execution").
// Activations (the residual stream, q/k/v, logits) are fp32 by default, the KV cache and the
// GEMV inputs (normalised rows, attention output, SwiGLU products: narrow_dtype()) bf16, weights
// bf16 or fp8 (or fp32); prefill GEMMs take x converted to bf16 / fp8. All-bf16 activations
// remain available (less precise: golden bf16-weight error 0.022 against 0.0042 with all-fp32
// activations, H200 2026-11-25). Norms, softmax, sampling and accumulation are fp32. Every op is enqueued on the
// backend's stream; only upload, download and synchronize wait. Ops never allocate, so a frame
// step can be captured as a CUDA Graph; HEARTSTREAM_CUDA_GRAPHS=0 switches capture off (the
// model then runs its ops directly). CUDA
// types stay behind a pimpl: models, the daemon and the pipeline include this header without
// CUDA headers (STYLE.md 1).
#pragma once

#include <cstddef>
#include <memory>

#include "engine/core/backend.h"
#include "engine/core/device_memory_budget.h"

namespace hs {

struct CudaBackendOptions {
  DType activations = DType::F32;               // F32 (any weights), or BF16 (bf16 / fp8 weights)
  DType narrow = DType::BF16;                   // narrow_dtype() of bf16 / fp8 weights: BF16, or F32 with F32 activations
  int device = 0;                               // CUDA device ordinal
  std::size_t scratch_bytes = 128u << 20;       // op-local temporaries (attention splits, prefill GEMM x / out)
  std::size_t gemm_workspace_bytes = kGemmWorkspaceBytes;  // cuBLASLt workspace
  // upload_table keeps embedding tables in mapped pinned host memory, read over the bus (a frame
  // reads 15 rows: 0.4 GB less device memory for HeartMuLa 3B's audio table), or on the device.
  bool tables_in_host_memory = true;
  // Non-causal attention (no positions: the codec's DiT) with head_dim 64 or 128 on bf16 tensor
  // cores (flash-attention forward, fp32 softmax and accumulation); false keeps the fp32 kernel
  // (the fp32 codec's parity path).
  bool attention_tensor_cores = false;
  // The stream at the device's highest priority: when two backends share a GPU, the block
  // scheduler runs this one's kernels first. The language model's frames are on the critical path;
  // the codec's chunks have slack (each is ready well before the audio before it has played), so
  // the LM's backend takes it and its frames do not queue behind codec kernels.
  bool high_priority = false;
  // The portable GEMM path on any GPU: fp8 weights widened to bf16 for the prefill GEMMs, as on
  // GPUs without fp8 tensor cores (below compute capability 8.9), where it is the only path.
  // HEARTSTREAM_CUDA_PORTABLE=1 in the environment forces it for every backend of the process.
  bool portable = false;
  // Shared with the other backends of the same budget; null: no limit but the GPU's.
  std::shared_ptr<DeviceMemoryBudget> budget = nullptr;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaBackendOptions& options = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  // True when a CUDA device is present (tests skip without one), and how many there are.
  static bool device_available() { return device_count() > 0; }
  static int device_count();
  // Whether fp8 GEMMs on `device` run on fp8 tensor cores: compute capability 8.9 or newer and
  // HEARTSTREAM_CUDA_PORTABLE not 1 (CudaBackendOptions::portable can still force the other path).
  static bool fp8_tensor_cores(int device);
  // The device's free memory now (cudaMemGetInfo).
  static std::size_t free_bytes(int device);

  Device device() const override { return Device::Cuda; }
  // "cuda" on device 0, "cuda:N" on device N (as --device names them).
  std::string name() const override;
  DType activation_dtype() const override;
  DType narrow_dtype(Precision weights) const override;
  DType gemm_input_dtype(Precision weights) const override;
  // The GEMM path fp8 weights take: "fp8 tensor cores" or "portable (fp8 widened to bf16)".
  std::string gemm_path() const;
  // "NVIDIA H200, compute capability 9.0, fp8 GEMMs: fp8 tensor cores"
  std::string details() const override;

  // Device memory this backend holds now and at most so far (its own allocations only; tables
  // in host memory are not device memory).
  std::size_t allocated_bytes() const override;
  std::size_t peak_allocated_bytes() const override;

  // CUDA Graphs (cuda_graph.cpp); capture returns null when switched off (HEARTSTREAM_CUDA_GRAPHS=0
  // at construction, or set_graphs(false) — benchmarks compare both on one loaded model).
  void set_graphs(bool enabled);
  std::shared_ptr<OpGraph> capture(const std::function<void()>& record) override;
  void replay(OpGraph& graph) override;
  void increment(Tensor& counter, std::int32_t delta) override;

  // memory (cuda_memory.cpp)
  Tensor alloc(const Shape& shape, DType dtype) override;
  Tensor upload(const Tensor& host) override;
  Tensor upload_exact(const Tensor& host) override;
  Tensor upload_table(const Tensor& host) override;
  Tensor download(const Tensor& device_tensor) override;
  void copy(const Tensor& src, Tensor& dst) override;
  void copy_many(std::span<const Tensor> src, std::span<Tensor> dst) override;
  Weight load_linear(const Tensor& weight, const Tensor* bias, Precision precision) override;
  Weight load_quantized_linear(const Tensor& values, const Tensor& scales, const Tensor* bias) override;
  Weight load_q4_linear(const Q4Weight& q, Q4Format format, const Tensor* bias) override;
  void synchronize() override;

  // language model (cuda_lm_ops.cpp)
  void embed_frame(const Tensor& audio_table, const Tensor& text_table, const Tensor& uncond_text,
                   std::int64_t audio_vocab, const Tensor& tokens, const Tensor& mask, const Tensor& uncond,
                   Tensor& out) override;
  void gather_rows(const Tensor& table, const Tensor& ids, std::int64_t id_offset, Tensor& out) override;
  void linear(const ScaledTensor& x, const Weight& w, Tensor& out) override;
  void linear_add(const ScaledTensor& x, const Weight& w, Tensor& out) override;
  void linear_gated_add(const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& proj,
                        Tensor& out) override;
  void linear_gated_add_norm(const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& proj, Tensor& out,
                             const Tensor& norm_weight, float eps, const Tensor& shift, const Tensor& scale,
                             ScaledTensor norm) override;
  void linear_parts(const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs) override;
  void linear_parts_rope(const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs, std::size_t rotated,
                         const Tensor& positions, const Tensor& inv_freq) override;
  void linear_swiglu(const ScaledTensor& x, const Weight& w, Tensor& gate, Tensor& up, ScaledTensor out) override;
  void rms_norm(const Tensor& x, const Tensor& scale, float eps, Tensor& out) override;
  void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq) override;
  void kv_store(ScaledTensor cache, const Tensor& src, const Tensor& positions) override;
  void rope_store(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions, const Tensor& inv_freq,
                  ScaledTensor k_cache, ScaledTensor v_cache) override;
  void attention(const Tensor& q, const ScaledTensor& k, const ScaledTensor& v, const Tensor* positions,
                 Tensor& out) override;
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) override;
  void add(const Tensor& a, const Tensor& b, Tensor& out) override;
  void sample(const Tensor& logits, const SamplingParams& params, Tensor& rng, Tensor& token,
              Tensor* guided) override;
  // many songs per step (cuda_batch_ops.cpp)
  void rope_store_paged(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions, const Tensor& inv_freq,
                        const Tensor& slots, ScaledTensor k_pool, ScaledTensor v_pool) override;
  void paged_attention(const Tensor& q, const ScaledTensor& k_pool, const ScaledTensor& v_pool, const Tensor& block_tables,
                       const Tensor& kv_rows, const Tensor& positions, Tensor& out) override;
  void sample_rows(const Tensor& logits, const SongSampling& songs, Tensor& rng, Tensor& song_tokens,
                   Tensor& row_tokens) override;
  void token_columns(const Tensor& src, Tensor& dst) override;
  void write(const Tensor& host, Tensor& dst) override;

  // codec convolutions (cuda_conv_ops.cpp)
  void conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv1dParams& params,
              Tensor& out) override;
  void conv1d_prelu(const Tensor& x, const Tensor& weight, const Tensor* bias, const Tensor& alpha,
                    const Conv1dParams& params, Tensor& out) override;
  void conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias, std::int64_t stride,
                        std::int64_t skip, Tensor& out) override;
  // other codec ops (cuda_codec_ops.cpp)
  void prelu(const Tensor& x, const Tensor& alpha, Tensor& out) override;
  void layer_norm(const Tensor& x, float eps, Tensor& out) override;
  void modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& out) override;
  void modulation_vectors(const Tensor& adaln, const Tensor& tables, Tensor& out) override;
  void sum_taps(const Tensor& taps, const Tensor* bias, Tensor& out) override;
  void rms_norm_modulate(const Tensor& x, const Tensor& weight, float eps, const Tensor& shift, const Tensor& scale,
                         ScaledTensor out) override;
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

  struct State;  // stream, cuBLASLt, scratch, memory counters (cuda_state.h)

 private:
  std::unique_ptr<State> state_;
};

}  // namespace hs
