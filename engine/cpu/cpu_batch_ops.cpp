// CpuBackend ops for many songs per step: paged KV (rope_store_paged, paged_attention), per-song
// sampling and the step's token plumbing. Each token and song is computed exactly as the
// one-song ops compute it (same helpers), so a song's results do not depend on its batch.
#include <cmath>
#include <cstring>

#include "engine/core/parallel.h"
#include "engine/cpu/cpu_attention.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"

namespace hs {
namespace {

constexpr std::int64_t kTaskGrain = 4;

// The pool slot of position `pos` of KV row `row` (checked against the table and the pool).
std::int64_t pool_slot(const Tensor& tables, std::int64_t row, std::int64_t pos, std::int64_t block_size,
                       std::int64_t blocks, std::string_view op) {
  const std::int64_t index = pos / block_size;
  cpu::check_that(index < tables.dim(1), op,
                  "position " + std::to_string(pos) + " beyond the block table's " + std::to_string(tables.dim(1)) +
                      " blocks");
  const std::int32_t block = tables.data<std::int32_t>()[row * tables.dim(1) + index];
  cpu::check_that(block >= 0 && block < blocks, op,
                  "KV row " + std::to_string(row) + " block " + std::to_string(index) + " is " + std::to_string(block) +
                      ", outside the pool's " + std::to_string(blocks) + " blocks");
  return block * block_size + pos % block_size;
}

}  // namespace

void CpuBackend::rope_store_paged(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions,
                                  const Tensor& inv_freq, const Tensor& slots, ScaledTensor k_pool, ScaledTensor v_pool) {
  using namespace cpu;
  constexpr std::string_view op = "rope_store_paged";
  check_tensor(k, DType::F32, op, "k");
  check_tensor(v, DType::F32, op, "v");
  check_tensor(slots, DType::I32, op, "slots");
  check_kv(k_pool, v_pool, op, "the pool's");
  check_rank(q, 3, op, "q");
  check_rank(k, 3, op, "k");
  check_rank(k_pool.data, 4, op, "k_pool");
  const std::int64_t n = q.dim(0), kv_heads = k.dim(1), head_dim = k.dim(2);
  check_shape(k, {n, kv_heads, head_dim}, op, "k");
  check_shape(v, k.shape(), op, "v");
  check_shape(slots, {n}, op, "slots");
  check_that(k_pool.data.dim(2) == kv_heads && k_pool.data.dim(3) == head_dim, op,
             "k_pool has shape " + shape_str(k_pool.data.shape()) + ", expected [blocks, block_size, " +
                 std::to_string(kv_heads) + ", " + std::to_string(head_dim) + "]");
  check_shape(v_pool.data, k_pool.data.shape(), op, "v_pool");
  Tensor q4 = q.reshape({1, n, q.dim(1), q.dim(2)}), k4 = k.reshape({1, n, kv_heads, head_dim});
  rope(q4, positions, inv_freq);
  rope(k4, positions, inv_freq);
  const std::int64_t capacity = k_pool.data.dim(0) * k_pool.data.dim(1), width = kv_heads * head_dim;
  for (std::int64_t t = 0; t < n; ++t) {
    const std::int32_t slot = slots.data<std::int32_t>()[t];
    if (slot < 0) continue;
    check_that(slot < capacity, op,
               "slot " + std::to_string(slot) + " outside the pool's " + std::to_string(capacity) + " positions");
    store_kv(k_pool, slot, k.data<float>() + t * width, kv_heads, head_dim);
    store_kv(v_pool, slot, v.data<float>() + t * width, kv_heads, head_dim);
  }
}

void CpuBackend::paged_attention(const Tensor& q, const ScaledTensor& k_pool, const ScaledTensor& v_pool,
                                 const Tensor& block_tables, const Tensor& kv_rows, const Tensor& positions,
                                 Tensor& out) {
  using namespace cpu;
  constexpr std::string_view op = "paged_attention";
  check_tensor(q, DType::F32, op, "q");
  check_kv(k_pool, v_pool, op, "the pool's");
  check_tensor(block_tables, DType::I32, op, "block_tables");
  check_tensor(kv_rows, DType::I32, op, "kv_rows");
  check_tensor(positions, DType::I32, op, "positions");
  check_tensor(out, DType::F32, op, "out");
  check_rank(q, 3, op, "q");
  check_rank(k_pool.data, 4, op, "k_pool");
  check_rank(block_tables, 2, op, "block_tables");
  const std::int64_t n = q.dim(0), heads = q.dim(1), head_dim = q.dim(2);
  const std::int64_t blocks = k_pool.data.dim(0), block_size = k_pool.data.dim(1), kv_heads = k_pool.data.dim(2);
  check_shape(v_pool.data, k_pool.data.shape(), op, "v_pool");
  check_that(k_pool.data.dim(3) == head_dim, op,
             "k_pool has head_dim " + std::to_string(k_pool.data.dim(3)) + ", q " + std::to_string(head_dim));
  check_that(kv_heads > 0 && heads % kv_heads == 0, op,
             std::to_string(heads) + " query heads are not a multiple of " + std::to_string(kv_heads) + " kv heads");
  check_shape(kv_rows, {n}, op, "kv_rows");
  check_shape(positions, {n}, op, "positions");
  check_shape(out, q.shape(), op, "out");
  const std::int32_t* rows = kv_rows.data<std::int32_t>();
  const std::int32_t* pos = positions.data<std::int32_t>();
  std::int64_t longest = 0;
  for (std::int64_t t = 0; t < n; ++t) {
    if (rows[t] < 0) continue;
    check_that(rows[t] < block_tables.dim(0) && pos[t] >= 0, op,
               "token " + std::to_string(t) + " has KV row " + std::to_string(rows[t]) + " at position " +
                   std::to_string(pos[t]) + " (block tables have " + std::to_string(block_tables.dim(0)) + " rows)");
    pool_slot(block_tables, rows[t], pos[t], block_size, blocks, op);  // the last key's block is valid
    longest = std::max<std::int64_t>(longest, pos[t] + 1);
  }
  const std::int64_t group = heads / kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  const std::int32_t* tables = block_tables.data<std::int32_t>();
  const std::int64_t table_width = block_tables.dim(1);
  parallel_for(n * heads, kTaskGrain, [&](std::int64_t begin, std::int64_t end) {
    AttentionScratch scratch(longest, head_dim);
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t h = task % heads, t = task / heads, row = rows[t];
      float* o = out.data<float>() + task * head_dim;
      if (row < 0) {
        std::fill(o, o + head_dim, 0.0f);
        continue;
      }
      const auto at = [&](const ScaledTensor& pool, std::int64_t key, std::vector<float>& buffer) {
        const std::int64_t slot = tables[row * table_width + key / block_size] * block_size + key % block_size;
        return load_kv(pool, slot, kv_heads, h / group, head_dim, buffer.data());
      };
      attend_one(q.data<float>() + task * head_dim, pos[t] + 1,
                 [&](std::int64_t key) { return at(k_pool, key, scratch.key); },
                 [&](std::int64_t key) { return at(v_pool, key, scratch.value); }, head_dim, scale, scratch, o);
    }
  });
}

void CpuBackend::sample_rows(const Tensor& logits, const SongSampling& songs, Tensor& rng, Tensor& song_tokens,
                             Tensor& row_tokens) {
  using namespace cpu;
  constexpr std::string_view op = "sample_rows";
  check_tensor(logits, DType::F32, op, "logits");
  check_tensor(songs.first_row, DType::I32, op, "first_row");
  check_tensor(songs.cfg, DType::U8, op, "cfg");
  check_tensor(songs.temperature, DType::F32, op, "temperature");
  check_tensor(songs.topk, DType::I32, op, "topk");
  check_tensor(songs.cfg_scale, DType::F32, op, "cfg_scale");
  check_tensor(songs.blocked, DType::I32, op, "blocked");
  check_tensor(rng, DType::I64, op, "rng");
  check_tensor(song_tokens, DType::I32, op, "song_tokens");
  check_tensor(row_tokens, DType::I32, op, "row_tokens");
  check_rank(logits, 2, op, "logits");
  const std::int64_t rows = logits.dim(0), count = songs.first_row.numel();
  for (const Tensor* t : {&songs.cfg, &songs.temperature, &songs.topk, &songs.cfg_scale})
    check_shape(*t, {count}, op, "song parameters");
  check_shape(songs.blocked, {count, 2}, op, "blocked");
  check_shape(rng, {count, 2}, op, "rng");
  check_shape(song_tokens, {count}, op, "song_tokens");
  check_shape(row_tokens, {rows}, op, "row_tokens");
  for (std::int64_t s = 0; s < count; ++s) {
    const std::int32_t first = songs.first_row.data<std::int32_t>()[s];
    if (first < 0) continue;
    const std::int64_t span = songs.cfg.data<std::uint8_t>()[s] ? 2 : 1;
    check_that(first + span <= rows, op,
               "song " + std::to_string(s) + " rows [" + std::to_string(first) + ", " + std::to_string(first + span) +
                   ") outside the logits' " + std::to_string(rows));
    const SamplingParams params{.temperature = songs.temperature.data<float>()[s],
                                .topk = songs.topk.data<std::int32_t>()[s],
                                .cfg_scale = songs.cfg_scale.data<float>()[s],
                                .blocked_begin = songs.blocked.data<std::int32_t>()[2 * s],
                                .blocked_end = songs.blocked.data<std::int32_t>()[2 * s + 1]};
    Tensor song_rng = rng.slice(s, s + 1).reshape({2}), token = song_tokens.slice(s, s + 1);
    sample(logits.slice(first, first + span), params, song_rng, token, nullptr);
    for (std::int64_t r = first; r < first + span; ++r) row_tokens.data<std::int32_t>()[r] = token.data<std::int32_t>()[0];
  }
}

void CpuBackend::token_columns(const Tensor& src, Tensor& dst) {
  using namespace cpu;
  constexpr std::string_view op = "token_columns";
  check_tensor(src, DType::I32, op, "src");
  check_tensor(dst, DType::I32, op, "dst");
  check_rank(src, 2, op, "src");
  check_rank(dst, 2, op, "dst");
  const std::int64_t columns = src.dim(0), rows = src.dim(1), width = dst.dim(1);
  check_that(dst.dim(0) == rows && columns <= width, op,
             "dst has shape " + shape_str(dst.shape()) + " for src " + shape_str(src.shape()));
  for (std::int64_t c = 0; c < columns; ++c)
    for (std::int64_t r = 0; r < rows; ++r) dst.data<std::int32_t>()[r * width + c] = src.data<std::int32_t>()[c * rows + r];
}

void CpuBackend::write(const Tensor& host, Tensor& dst) {
  using namespace cpu;
  check_tensor(dst, host.dtype(), "write", "dst");
  check_shape(dst, host.shape(), "write", "dst");
  if (host.bytes() && host.raw() != dst.raw()) std::memcpy(dst.raw(), host.raw(), host.bytes());
}

}  // namespace hs
