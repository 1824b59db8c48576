// CpuBackend LM ops other than attention and sampling: embeddings, linear (BLAS), RMSNorm,
// rotary embedding, KV-cache writes and elementwise ops.

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/core/parallel.h"
#include "engine/cpu/cpu_attention.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_checks.h"
#include "engine/cpu/cpu_gemm.h"

namespace hs {
namespace {

using cpu::check_rank;
using cpu::check_shape;
using cpu::check_tensor;
using cpu::check_that;

constexpr std::int64_t kAudioColumns = 8;                  // one per codebook
constexpr std::int64_t kFrameColumns = kAudioColumns + 1;  // + the text column
constexpr std::int64_t kRowGrain = 16;       // rows per parallel chunk for cheap row ops
constexpr std::int64_t kElementGrain = 1 << 16;

// out[i] = f(a[i], b[i]) over three fp32 tensors of one shape (argument names for the errors).
template <typename F>
void elementwise(std::string_view op, std::string_view a_name, const Tensor& a, std::string_view b_name,
                 const Tensor& b, Tensor& out, F f) {
  check_tensor(a, DType::F32, op, a_name);
  check_tensor(b, DType::F32, op, b_name);
  check_tensor(out, DType::F32, op, "out");
  check_shape(b, a.shape(), op, b_name);
  check_shape(out, a.shape(), op, "out");
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  float* z = out.data<float>();
  parallel_for(a.numel(), kElementGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) z[i] = f(x[i], y[i]);
  });
}

void check_row_index(std::int64_t id, std::int64_t rows, std::string_view op, std::string_view what) {
  check_that(id >= 0 && id < rows, op,
             std::string(what) + " " + std::to_string(id) + " outside the table's " + std::to_string(rows) + " rows");
}

// out = x · Wᵀ + bias, added to out when `accumulate`.
void linear_into(const Tensor& x, const Weight& w, Tensor& out, bool accumulate, std::string_view op) {
  check_tensor(x, DType::F32, op, "x");
  check_tensor(w.values, DType::F32, op, "weight");
  check_tensor(out, DType::F32, op, "out");
  check_rank(x, 2, op, "x");
  check_rank(w.values, 2, op, "weight");
  const std::int64_t n = x.dim(0), in = w.in_features(), out_features = w.out_features();
  check_shape(x, {n, in}, op, "x");
  check_shape(out, {n, out_features}, op, "out");
  check_that(x.raw() != out.raw() || n == 0, op, "out must not alias x");
  if (n == 0) return;
  // Not BLAS: a row's result must not depend on the other rows (cpu_gemm.h).
  cpu::row_invariant_gemm(x.data<float>(), w.values.data<float>(), out.data<float>(), n, out_features, in, accumulate);
  if (!w.bias.defined()) return;
  check_tensor(w.bias, DType::F32, op, "bias");
  check_shape(w.bias, {out_features}, op, "bias");
  const float* b = w.bias.data<float>();
  float* y = out.data<float>();
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t o = 0; o < out_features; ++o) y[r * out_features + o] += b[o];
}

}  // namespace

void CpuBackend::embed_frame(const Tensor& audio_table, const Tensor& text_table, const Tensor& uncond_text,
                             std::int64_t audio_vocab, const Tensor& tokens, const Tensor& mask,
                             const Tensor& uncond, Tensor& out) {
  constexpr std::string_view op = "embed_frame";
  check_tensor(audio_table, DType::F32, op, "audio_table");
  check_tensor(text_table, DType::F32, op, "text_table");
  check_tensor(uncond_text, DType::F32, op, "uncond_text");
  check_tensor(tokens, DType::I32, op, "tokens");
  check_tensor(mask, DType::U8, op, "mask");
  check_tensor(uncond, DType::U8, op, "uncond");
  check_tensor(out, DType::F32, op, "out");
  check_rank(audio_table, 2, op, "audio_table");
  const std::int64_t dim = audio_table.dim(1);
  check_rank(tokens, 2, op, "tokens");
  const std::int64_t rows = tokens.dim(0);
  check_shape(tokens, {rows, kFrameColumns}, op, "tokens");
  check_shape(mask, {rows, kFrameColumns}, op, "mask");
  check_shape(uncond, {rows}, op, "uncond");
  check_rank(text_table, 2, op, "text_table");
  check_shape(text_table, {text_table.dim(0), dim}, op, "text_table");
  check_shape(uncond_text, {1, dim}, op, "uncond_text");
  check_shape(out, {rows, dim}, op, "out");
  check_that(audio_vocab > 0 && audio_table.dim(0) == audio_vocab * kAudioColumns, op,
             "audio_table rows " + std::to_string(audio_table.dim(0)) + " != 8 x audio_vocab " +
                 std::to_string(audio_vocab));
  const auto* tok = tokens.data<std::int32_t>();
  const auto* msk = mask.data<std::uint8_t>();
  const auto* unc = uncond.data<std::uint8_t>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < kFrameColumns; ++c) {
      const std::int64_t t = tok[r * kFrameColumns + c];
      if (!msk[r * kFrameColumns + c]) continue;
      if (c < kAudioColumns) check_row_index(t, audio_vocab, op, "audio token");
      else if (!unc[r]) check_row_index(t, text_table.dim(0), op, "text token");
    }
  const float* audio = audio_table.data<float>();
  const float* text = text_table.data<float>();
  const float* unc_row = uncond_text.data<float>();
  float* y = out.data<float>();
  parallel_for(rows, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      float* yr = y + r * dim;
      std::fill(yr, yr + dim, 0.0f);
      for (std::int64_t c = 0; c < kFrameColumns; ++c) {
        if (!msk[r * kFrameColumns + c]) continue;
        const std::int64_t t = tok[r * kFrameColumns + c];
        const float* e = c < kAudioColumns ? audio + (t + c * audio_vocab) * dim
                                         : (unc[r] ? unc_row : text + t * dim);
        for (std::int64_t d = 0; d < dim; ++d) yr[d] += e[d];
      }
    }
  });
}

void CpuBackend::gather_rows(const Tensor& table, const Tensor& ids, std::int64_t id_offset, Tensor& out) {
  constexpr std::string_view op = "gather_rows";
  check_tensor(table, DType::F32, op, "table");
  check_tensor(ids, DType::I32, op, "ids");
  check_tensor(out, DType::F32, op, "out");
  check_rank(table, 2, op, "table");
  check_rank(ids, 1, op, "ids");
  const std::int64_t n = ids.dim(0), dim = table.dim(1);
  check_shape(out, {n, dim}, op, "out");
  const auto* id = ids.data<std::int32_t>();
  for (std::int64_t i = 0; i < n; ++i) check_row_index(id[i] + id_offset, table.dim(0), op, "row");
  for (std::int64_t i = 0; i < n; ++i)
    std::memcpy(out.data<float>() + i * dim, table.data<float>() + (id[i] + id_offset) * dim,
                static_cast<std::size_t>(dim) * sizeof(float));
}

// x.data: the CPU's gemm_input_dtype is F32, and an fp8 x fails linear_into's dtype check.
void CpuBackend::linear(const ScaledTensor& x, const Weight& w, Tensor& out) {
  linear_into(x.data, w, out, false, "linear");
}

void CpuBackend::linear_add(const ScaledTensor& x, const Weight& w, Tensor& out) {
  linear_into(x.data, w, out, true, "linear_add");
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& scale, float eps, Tensor& out) {
  constexpr std::string_view op = "rms_norm";
  check_tensor(x, DType::F32, op, "x");
  check_tensor(scale, DType::F32, op, "scale");
  check_tensor(out, DType::F32, op, "out");
  check_rank(x, 2, op, "x");
  const std::int64_t rows = x.dim(0), dim = x.dim(1);
  check_shape(scale, {dim}, op, "scale");
  check_shape(out, x.shape(), op, "out");
  const float* xs = x.data<float>();
  const float* g = scale.data<float>();
  float* y = out.data<float>();
  parallel_for(rows, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* xr = xs + r * dim;
      double sum_sq = 0.0;
      for (std::int64_t d = 0; d < dim; ++d) sum_sq += double{xr[d]} * xr[d];
      const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(dim) + eps));
      for (std::int64_t d = 0; d < dim; ++d) y[r * dim + d] = xr[d] * inv * g[d];
    }
  });
}

void CpuBackend::rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq) {
  constexpr std::string_view op = "rope";
  check_tensor(x, DType::F32, op, "x");
  check_tensor(positions, DType::I32, op, "positions");
  check_tensor(inv_freq, DType::F32, op, "inv_freq");
  check_rank(x, 4, op, "x");
  const std::int64_t batch = x.dim(0), seq = x.dim(1), heads = x.dim(2), head_dim = x.dim(3);
  check_that(head_dim % 2 == 0, op, "head_dim " + std::to_string(head_dim) + " is odd");
  const std::int64_t pairs = head_dim / 2;
  check_shape(positions, {seq}, op, "positions");
  check_shape(inv_freq, {pairs}, op, "inv_freq");
  // cos/sin per (position, pair), computed in double from the fp32 frequencies.
  std::vector<float> cos_sin(static_cast<std::size_t>(seq * pairs * 2));
  const auto* pos = positions.data<std::int32_t>();
  const float* freq = inv_freq.data<float>();
  for (std::int64_t s = 0; s < seq; ++s)
    for (std::int64_t j = 0; j < pairs; ++j) {
      const double angle = static_cast<double>(pos[s]) * static_cast<double>(freq[j]);
      cos_sin[static_cast<std::size_t>((s * pairs + j) * 2)] = static_cast<float>(std::cos(angle));
      cos_sin[static_cast<std::size_t>((s * pairs + j) * 2 + 1)] = static_cast<float>(std::sin(angle));
    }
  float* data = x.data<float>();
  parallel_for(batch * seq, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t bs = begin; bs < end; ++bs) {
      const float* cs = cos_sin.data() + (bs % seq) * pairs * 2;
      for (std::int64_t h = 0; h < heads; ++h) {
        float* v = data + (bs * heads + h) * head_dim;
        for (std::int64_t j = 0; j < pairs; ++j) {
          const float c = cs[2 * j], s = cs[2 * j + 1];
          const float x0 = v[2 * j], x1 = v[2 * j + 1];
          v[2 * j] = x0 * c - x1 * s;
          v[2 * j + 1] = x1 * c + x0 * s;
        }
      }
    }
  });
}

void CpuBackend::kv_store(ScaledTensor cache, const Tensor& src, const Tensor& positions) {
  constexpr std::string_view op = "kv_store";
  cpu::check_kv(cache, cache, op, "cache");
  check_tensor(src, DType::F32, op, "src");
  check_tensor(positions, DType::I32, op, "positions");
  check_rank(cache.data, 4, op, "cache");
  check_rank(src, 4, op, "src");
  const std::int64_t batch = cache.data.dim(0), capacity = cache.data.dim(1), seq = src.dim(1);
  const std::int64_t kv_heads = cache.data.dim(2), head_dim = cache.data.dim(3);
  check_shape(src, {batch, seq, kv_heads, head_dim}, op, "src");
  check_shape(positions, {seq}, op, "positions");
  const auto* pos = positions.data<std::int32_t>();
  for (std::int64_t s = 0; s < seq; ++s)
    check_that(pos[s] >= 0 && pos[s] < capacity, op,
               "position " + std::to_string(pos[s]) + " outside the cache's " + std::to_string(capacity) + " slots");
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t s = 0; s < seq; ++s)
      cpu::store_kv(cache, b * capacity + pos[s], src.data<float>() + (b * seq + s) * kv_heads * head_dim, kv_heads,
                    head_dim);
}

void CpuBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) {
  elementwise("silu_mul", "gate", gate, "up", up, out, [](float g, float u) { return g / (1.0f + std::exp(-g)) * u; });
}

void CpuBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
  elementwise("add", "a", a, "b", b, out, [](float x, float y) { return x + y; });
}

}  // namespace hs
