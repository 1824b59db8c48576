// CudaBackend ops for many songs per step: the paged KV cache through the LM's rope/store and
// attention kernels (paged modes), every song's sampling in one launch (one block per song), the
// step's token columns, and plan writes.
#include <algorithm>

#include "engine/cuda/cuda_state.h"
#include "kernels/attention.cuh"
#include "kernels/cuda_check.h"
#include "kernels/rope_store.cuh"
#include "kernels/sample.cuh"
#include "kernels/token_columns.cuh"

namespace hs {
namespace {

using cuda::check_act_or_narrow;
using cuda::check_shape;
using cuda::check_tensor;
using cuda::check_that;

const std::int32_t* i32(const Tensor& t) { return static_cast<const std::int32_t*>(t.raw()); }

}  // namespace

void CudaBackend::rope_store_paged(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions,
                                   const Tensor& inv_freq, const Tensor& slots, ScaledTensor kv_k, ScaledTensor kv_v) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "rope_store_paged";
  const DType act = state_->activations;
  check_tensor(q, act, op, "q");
  check_tensor(k, act, op, "k");
  check_tensor(v, act, op, "v");
  cuda::check_kv(*state_, kv_k, kv_v, op, "the pool's");
  const Tensor &k_pool = kv_k.data, &v_pool = kv_v.data;
  check_tensor(positions, DType::I32, op, "positions");
  check_tensor(slots, DType::I32, op, "slots");
  check_tensor(inv_freq, DType::F32, op, "inv_freq (upload it with upload_exact)");
  check_that(q.rank() == 3 && k.rank() == 3 && k_pool.rank() == 4, op, "q and k must be rank 3, the pools rank 4");
  const std::int64_t n = q.dim(0), kv_heads = k.dim(1), head_dim = k.dim(2);
  check_that(head_dim % 2 == 0 && q.dim(2) == head_dim, op, "head_dim must be even and the same in q and k");
  check_shape(k, {n, kv_heads, head_dim}, op, "k");
  check_shape(v, k.shape(), op, "v");
  check_shape(k_pool, {k_pool.dim(0), k_pool.dim(1), kv_heads, head_dim}, op, "k_pool");
  check_shape(v_pool, k_pool.shape(), op, "v_pool");
  check_shape(positions, {n}, op, "positions");
  check_shape(slots, {n}, op, "slots");
  check_shape(inv_freq, {head_dim / 2}, op, "inv_freq");
  const bool fp8 = kv_k.fp8();
  const std::int64_t capacity = k_pool.dim(0) * k_pool.dim(1);
  kernels::RopeStoreParams p{q.raw(), k.raw(), v.raw(), fp8 ? nullptr : k_pool.raw(), fp8 ? nullptr : v_pool.raw(),
                             i32(positions), static_cast<const float*>(inv_freq.raw()), 1, n, q.dim(1), kv_heads,
                             head_dim, capacity, cuda::element_type(act, op, "q"),
                             fp8 ? kernels::ElementType::BF16 : cuda::element_type(k_pool.dtype(), op, "k_pool")};
  p.slots = i32(slots);
  kernels::rope_store(p, state_->stream);
  if (fp8) {
    const Shape rows{n, kv_heads * head_dim};
    cuda::store_kv_fp8(*state_, kv_k, k.reshape(rows), positions, &slots, 1, capacity, op);
    cuda::store_kv_fp8(*state_, kv_v, v.reshape(rows), positions, &slots, 1, capacity, op);
  }
}

void CudaBackend::paged_attention(const Tensor& q, const ScaledTensor& kv_k, const ScaledTensor& kv_v,
                                  const Tensor& block_tables, const Tensor& kv_rows, const Tensor& positions,
                                  Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "paged_attention";
  const DType act = state_->activations;
  check_tensor(q, act, op, "q");
  cuda::check_kv(*state_, kv_k, kv_v, op, "the pool's");
  const Tensor &k_pool = kv_k.data, &v_pool = kv_v.data;
  check_act_or_narrow(*state_, out, op, "out");
  check_tensor(block_tables, DType::I32, op, "block_tables");
  check_tensor(kv_rows, DType::I32, op, "kv_rows");
  check_tensor(positions, DType::I32, op, "positions");
  check_that(q.rank() == 3 && k_pool.rank() == 4 && block_tables.rank() == 2, op,
             "q must be rank 3, the pools rank 4, block_tables rank 2");
  const std::int64_t n = q.dim(0), heads = q.dim(1), head_dim = q.dim(2), kv_heads = k_pool.dim(2);
  const std::int64_t block_size = k_pool.dim(1), width = block_tables.dim(1);
  check_shape(k_pool, {k_pool.dim(0), block_size, kv_heads, head_dim}, op, "k_pool");
  check_shape(v_pool, k_pool.shape(), op, "v_pool");
  check_shape(out, q.shape(), op, "out");
  check_shape(kv_rows, {n}, op, "kv_rows");
  check_shape(positions, {n}, op, "positions");
  check_that(kv_heads > 0 && heads % kv_heads == 0, op, "query heads are not a multiple of kv heads");
  check_that(head_dim % 2 == 0 && head_dim <= kernels::kAttentionMaxHeadDim, op,
             "head_dim " + std::to_string(head_dim) + " must be even and at most 384");
  kernels::AttentionParams p{q.raw(), nullptr, nullptr, out.raw(), i32(positions), nullptr, 1, n, heads,
                             kv_heads, head_dim, width * block_size, cuda::element_type(act, op, "q"),
                             kernels::ElementType::BF16, cuda::element_type(out.dtype(), op, "out")};
  cuda::read_kv(p, kv_k, kv_v, op);
  p.block_tables = i32(block_tables);
  p.kv_rows = i32(kv_rows);
  p.block_size = block_size;
  p.table_width = width;
  // Tokens in passes whose split workspace fits the scratch (a token's result is its own).
  p.seq = 1;
  const auto per_token = static_cast<std::size_t>(kernels::attention_workspace_floats(p)) * sizeof(float);
  const std::int64_t pass = per_token ? std::max<std::int64_t>(1, static_cast<std::int64_t>(state_->scratch.bytes() / per_token)) : n;
  const std::size_t q_row = static_cast<std::size_t>(heads * head_dim) * dtype_size(q.dtype());
  const std::size_t out_row = static_cast<std::size_t>(heads * head_dim) * dtype_size(out.dtype());
  for (std::int64_t begin = 0; begin < n; begin += pass) {
    p.seq = std::min(pass, n - begin);
    p.q = static_cast<const char*>(q.raw()) + begin * q_row;
    p.out = static_cast<char*>(out.raw()) + begin * out_row;
    p.positions = i32(positions) + begin;
    p.kv_rows = i32(kv_rows) + begin;
    if (per_token) p.workspace = static_cast<float*>(cuda::scratch(*state_, 0, per_token * static_cast<std::size_t>(p.seq), op));
    kernels::attention(p, state_->stream);
  }
}

void CudaBackend::sample_rows(const Tensor& logits, const SongSampling& songs, Tensor& rng, Tensor& song_tokens,
                              Tensor& row_tokens) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "sample_rows";
  const DType act = state_->activations;
  check_tensor(logits, act, op, "logits");
  check_tensor(songs.first_row, DType::I32, op, "first_row");
  check_tensor(songs.cfg, DType::U8, op, "cfg");
  check_tensor(songs.temperature, DType::F32, op, "temperature");
  check_tensor(songs.topk, DType::I32, op, "topk");
  check_tensor(songs.cfg_scale, DType::F32, op, "cfg_scale");
  check_tensor(songs.blocked, DType::I32, op, "blocked");
  check_tensor(rng, DType::I64, op, "rng");
  check_tensor(song_tokens, DType::I32, op, "song_tokens");
  check_tensor(row_tokens, DType::I32, op, "row_tokens");
  check_that(logits.rank() == 2, op, "logits must be [R, V], got " + shape_str(logits.shape()));
  const std::int64_t rows = logits.dim(0), vocab = logits.dim(1), count = songs.first_row.numel();
  check_that(vocab > 0 && vocab <= kernels::kSampleMaxVocab, op, "vocabulary of " + std::to_string(vocab) + " entries");
  for (const Tensor* t : {&songs.cfg, &songs.temperature, &songs.topk, &songs.cfg_scale})
    check_shape(*t, {count}, op, "song parameters");
  check_shape(songs.blocked, {count, 2}, op, "blocked");
  check_shape(rng, {count, 2}, op, "rng");
  check_shape(song_tokens, {count}, op, "song_tokens");
  check_shape(row_tokens, {rows}, op, "row_tokens");
  const kernels::SampleParams::Songs many{i32(songs.first_row), static_cast<const std::uint8_t*>(songs.cfg.raw()),
                                          static_cast<const float*>(songs.temperature.raw()),
                                          static_cast<const float*>(songs.cfg_scale.raw()), i32(songs.topk),
                                          i32(songs.blocked), static_cast<std::int32_t*>(row_tokens.raw()), count};
  kernels::SampleParams p{logits.raw(), nullptr, static_cast<std::int64_t*>(rng.raw()),
                          static_cast<std::int32_t*>(song_tokens.raw()), 1, vocab, 1.0f, 1.0f, 1,
                          cuda::element_type(act, op, "logits")};
  p.songs_on_host = &many;
  kernels::sample(p, state_->stream);
}

void CudaBackend::token_columns(const Tensor& src, Tensor& dst) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "token_columns";
  check_tensor(src, DType::I32, op, "src");
  check_tensor(dst, DType::I32, op, "dst");
  check_that(src.rank() == 2 && dst.rank() == 2 && dst.dim(0) == src.dim(1) && src.dim(0) <= dst.dim(1), op,
             "dst has shape " + shape_str(dst.shape()) + " for src " + shape_str(src.shape()));
  kernels::token_columns(i32(src), static_cast<std::int32_t*>(dst.raw()), src.dim(0), src.dim(1), dst.dim(1),
                         state_->stream);
}

void CudaBackend::write(const Tensor& host, Tensor& dst) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "write";
  check_that(host.defined() && host.device() == Device::Cpu, op, "host is not a host tensor");
  check_tensor(dst, host.dtype(), op, "dst");
  check_shape(dst, host.shape(), op, "dst");
  check_that(!state_->capturing, op, "cannot write while capturing a graph");
  if (!host.bytes()) return;
  CUDA_CHECK(cudaMemcpyAsync(dst.raw(), host.raw(), host.bytes(), cudaMemcpyHostToDevice, state_->stream));
  CUDA_CHECK(cudaStreamSynchronize(state_->stream));  // `host` may be freed when we return
}

}  // namespace hs
