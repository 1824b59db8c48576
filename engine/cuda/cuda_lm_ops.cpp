// CudaBackend LM ops: argument checks, then one hs_kernels launch each on the backend's stream.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "engine/cuda/cuda_state.h"
#include "kernels/add.cuh"
#include "kernels/attention.cuh"
#include "kernels/embed_frame.cuh"
#include "kernels/flash_attention.cuh"
#include "kernels/gather_rows.cuh"
#include "kernels/gemv.cuh"
#include "kernels/kv_store.cuh"
#include "kernels/q4.cuh"
#include "kernels/quantize_fp8.cuh"
#include "kernels/rms_norm.cuh"
#include "kernels/rope.cuh"
#include "kernels/rope_store.cuh"
#include "kernels/sample.cuh"
#include "kernels/scale_output.cuh"
#include "kernels/silu_mul.cuh"

namespace hs {
namespace {

using cuda::check_shape;
using cuda::check_act_or_narrow;
using cuda::check_tensor;
using cuda::check_that;

static_assert(kernels::kSplitMaxParts == kernels::kGemvMaxOutputs, "run_linear splits GEMV and GEMM outputs alike");

constexpr std::int64_t kFrameColumns = kernels::kEmbedColumns;
constexpr std::int64_t kRngWords = 2;
constexpr std::size_t kScratchAlign = 256;  // bytes; scratch regions start on this boundary

std::size_t aligned(std::size_t bytes) { return (bytes + kScratchAlign - 1) / kScratchAlign * kScratchAlign; }
// Whether p is null or a multiple of 16 bytes (the vectors the norm's residual update reads).
bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

kernels::WeightType weight_type(DType d) {
  switch (d) {
    case DType::F32: return kernels::WeightType::F32;
    case DType::BF16: return kernels::WeightType::BF16;
    case DType::F8_E4M3: return kernels::WeightType::FP8;
    default: throw InvalidArgument("linear: weight dtype " + std::string(dtype_name(d)) + " is not F32, BF16 or F8_E4M3");
  }
}

// out (=|+=) x · Wᵀ + bias. Up to 4 rows: the GEMV (any activation / weight / output types, the
// residual add fused). Above: cuBLASLt on x as the weights' GEMM type (bf16, or per-row fp8 for fp8
// weights; converted in scratch when x is fp32), then one epilogue that rescales,
// adds the bias and writes or adds into out. Several outputs take the stacked weight's features in
// order; gated: out = SwiGLU of the [W1; W3] stack, [rows, out_features / 2]. On the portable path
// (no fp8 tensor cores) fp8 weights are widened to bf16 first (State::widened), the GEMM runs in
// bf16 on bf16 x and the epilogue applies the weights' scales alone. With `rope` (its first_row
// set per pass here), the split epilogue rotates the first rope->parts outputs, each [rows, heads ·
// head_dim]; after a GEMV the rope kernel does. An fp8 x (Backend::gemm_input_dtype) goes to an fp8
// GEMM as it is, and is widened to bf16 for the other paths; a gated out may be fp8 (`out_scales`
// [rows]): the epilogue quantizes the products, a GEMV's products are quantized after it. With
// `then_norm` (a residual gate's out normalised next), one GEMM pass over all rows hands its
// epilogue to the norm kernel (kernels::ResidualUpdate); otherwise the norm runs after it.
void run_linear(CudaBackend::State& s, const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs,
                bool accumulate, std::string_view op, bool gated = false, const Tensor* residual_gate = nullptr,
                const kernels::SplitRope* rope = nullptr, const Tensor* out_scales = nullptr,
                const kernels::RmsNormParams* then_norm = nullptr) {
  cuda::check_scaled(s, x, op, "x");
  const bool x_fp8 = x.fp8();
  const DType act = x_fp8 ? DType::BF16 : x.data.dtype();  // fp8 x is read as bf16 where it is widened
  check_that(!outs.empty() && outs.size() <= kernels::kGemvMaxOutputs, op, "1 to 3 outputs");
  Tensor& out = *outs[0];
  check_that(out.defined() && (out.dtype() == DType::F32 || out.dtype() == s.activations || out.dtype() == s.narrow ||
                               (out_scales && out.dtype() == DType::F8_E4M3)),
             op, "out must be F32, the activation or the narrow dtype, or fp8 with its scales");
  check_tensor(w.values, w.values.dtype(), op, "weight");
  check_that(x.data.rank() == 2 && w.values.rank() == 2, op, "x and weight must be rank 2");
  const std::int64_t rows = x.data.dim(0), in = w.in_features(), out_features = w.out_features();
  check_shape(x.data, {rows, in}, op, "x");
  std::int64_t widths = 0;
  for (Tensor* part : outs) {
    check_tensor(*part, out.dtype(), op, "out");
    check_that(part->rank() == 2, op, "outputs must be rank 2");
    check_shape(*part, {rows, part->dim(1)}, op, "out");
    check_that(x.data.raw() != part->raw() || rows == 0, op, "out must not alias x");
    widths += part->dim(1);
  }
  check_that(widths == (gated ? out_features / 2 : out_features), op, "the outputs' widths do not sum to the features");
  check_that(!accumulate || (outs.size() == 1 && !gated), op, "split or gated outputs do not accumulate");
  check_that(!residual_gate || (accumulate && rows > kernels::kGemvMaxRows), op, "a residual gate needs GEMM rows");
  check_that(!gated || (out_features % 2 == 0 && !w.bias.defined() && w.values.dtype() != DType::F32), op,
             "a gated linear needs an even bf16 / fp8 stack without bias");
  const bool out_fp8 = out.dtype() == DType::F8_E4M3;
  if (out_fp8) {
    check_that(gated, op, "only the gated (SwiGLU) output may be fp8");
    check_tensor(*out_scales, DType::F32, op, "out scale");
    check_shape(*out_scales, {rows}, op, "out scale");
  }
  // 4-bit codes run as bf16 weights: their GEMV reads the codes, prefill GEMMs widen them to bf16.
  const kernels::WeightType type = w.q4 ? kernels::WeightType::BF16 : weight_type(w.values.dtype());
  check_that(type != kernels::WeightType::F32 || act == DType::F32, op, "F32 weights need F32 x");
  const bool fp8 = !w.q4 && type == kernels::WeightType::FP8;
  if (w.q4) check_tensor(w.scales, DType::F32, op, "block scales");
  kernels::Q4Table table{};
  if (w.q4) {
    const Q4Levels& levels = q4_levels(*w.q4);
    std::copy(levels.levels.begin(), levels.levels.end(), table.values);
    table.unit = levels.unit;
  }
  if (fp8) check_tensor(w.scales, DType::F32, op, "scales");
  if (w.bias.defined()) check_tensor(w.bias, DType::F32, op, "bias");
  const kernels::ElementType x_type = cuda::element_type(act, op, "x");
  // A GEMV writes bf16 products where out is fp8 (quantized after it).
  const DType out_dtype = out_fp8 ? DType::BF16 : out.dtype();
  const kernels::ElementType out_type = cuda::element_type(out_dtype, op, "out");
  const float* scales = fp8 ? static_cast<const float*>(w.scales.raw()) : nullptr;
  const float* bias = w.bias.defined() ? static_cast<const float*>(w.bias.raw()) : nullptr;
  const std::size_t x_row_bytes = static_cast<std::size_t>(in) * dtype_size(x.data.dtype());
  // GEMVs over rows [begin, end), kGemvMaxRows at a time: an fp8 x widened into scratch first, an
  // fp8 out's products written to scratch and quantized into out.
  auto gemv_rows = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; r += kernels::kGemvMaxRows) {
      const std::int64_t n = std::min(kernels::kGemvMaxRows, end - r);
      const void* xr = static_cast<const char*>(x.data.raw()) + r * x_row_bytes;
      std::size_t offset = 0;
      if (x_fp8) {
        void* xb = cuda::scratch(s, offset, static_cast<std::size_t>(n * in) * sizeof(std::uint16_t), op);
        offset = aligned(static_cast<std::size_t>(n * in) * sizeof(std::uint16_t));
        kernels::widen_fp8(xr, xb, n * in, s.stream, static_cast<const float*>(x.scale.raw()) + r, in);
        xr = xb;
      }
      kernels::GemvParams p{xr, w.values.raw(), scales, bias, {}, {}, n, in, out_features, x_type, type, out_type,
                            accumulate, gated};
      for (std::size_t i = 0; i < outs.size(); ++i) {
        p.widths[i] = outs[i]->dim(1);
        const std::size_t products = static_cast<std::size_t>(n * p.widths[i]) * sizeof(std::uint16_t);
        p.out[i] = out_fp8 ? cuda::scratch(s, offset, products, op)
                           : static_cast<char*>(outs[i]->raw()) + r * p.widths[i] * dtype_size(out.dtype());
      }
      if (w.q4) kernels::gemv_q4(p, static_cast<const float*>(w.scales.raw()), table, s.stream);
      else kernels::gemv(p, s.stream);
      if (out_fp8)
        kernels::quantize_fp8({p.out[0], static_cast<char*>(out.raw()) + r * p.widths[0],
                               static_cast<float*>(out_scales->raw()) + r, n, p.widths[0], out_type},
                              s.stream);
    }
    for (int i = 0; rope && i < rope->parts; ++i) {
      const std::int64_t width = outs[i]->dim(1);
      kernels::rope({static_cast<char*>(outs[i]->raw()) + begin * width * dtype_size(out.dtype()), rope->positions,
                     rope->inv_freq, end - begin, rope->seq, width / rope->head_dim, rope->head_dim, begin, out_type},
                    s.stream);
    }
  };
  if (rows <= kernels::kGemvMaxRows) return gemv_rows(0, rows);  // decode: a memory-bound skinny GEMM

  // GEMM input: x itself when its type is the weights', else converted into scratch. GEMM output:
  // fp32 for fp32 weights, else bf16; straight into out when it fits, else scratch. Rows go in
  // passes that fit the scratch (the offline window's stacked MLP projections may not).
  const bool widen = (fp8 && !s.fp8_tensor_cores) || w.q4;
  const kernels::WeightType gemm_type = widen ? kernels::WeightType::BF16 : type;
  const bool fp8_gemm = gemm_type == kernels::WeightType::FP8;
  const bool native = gemm_type == kernels::WeightType::F32 ||
                      (gemm_type == kernels::WeightType::BF16 && x.data.dtype() == DType::BF16) || (fp8_gemm && x_fp8);
  const kernels::ElementType gemm_out_type =
      type == kernels::WeightType::F32 ? kernels::ElementType::F32 : kernels::ElementType::BF16;
  const std::size_t gemm_out_size = gemm_out_type == kernels::ElementType::F32 ? sizeof(float) : sizeof(std::uint16_t);
  const bool split = outs.size() > 1 || gated || rope;
  // A weight stored with zero rows past its height (Weight::stored_rows: the 8197-id heads) runs
  // its GEMM over them into scratch rows of that stride.
  const std::int64_t stride = !split && w.stored_rows > out_features ? w.stored_rows : out_features;
  const bool direct = !accumulate && !split && gemm_out_type == out_type && stride == out_features;
  const std::size_t x_bytes = native     ? 0
                              : fp8_gemm ? static_cast<std::size_t>(in) + sizeof(float)
                                         : static_cast<std::size_t>(in) * sizeof(std::uint16_t);
  const std::size_t row_bytes = x_bytes + (direct ? 0 : static_cast<std::size_t>(stride) * gemm_out_size);
  const std::size_t room = s.scratch.bytes() > 3 * kScratchAlign ? s.scratch.bytes() - 3 * kScratchAlign : 0;
  const std::int64_t pass_rows = std::max<std::int64_t>(1, std::min<std::int64_t>(rows, row_bytes ? room / row_bytes : rows));
  const void* gemm_w = w.values.raw();
  if (widen) {
    const std::int64_t count = stride * in;
    check_that(s.widened.numel() >= count, op, "the widened weights hold fewer values than the weight");
    if (w.q4)
      kernels::widen_q4({gemm_w, static_cast<const float*>(w.scales.raw()), s.widened.raw(), out_features, stride, in},
                        table, s.stream);
    else
      kernels::widen_fp8(gemm_w, s.widened.raw(), count, s.stream);
    gemm_w = s.widened.raw();
  }
  for (std::int64_t r0 = 0; r0 < rows; r0 += pass_rows) {
    const std::int64_t n = std::min(pass_rows, rows - r0);
    const std::size_t elements = static_cast<std::size_t>(n * in);
    const void* px = static_cast<const char*>(x.data.raw()) + r0 * x_row_bytes;
    std::size_t offset = 0;
    const void* gemm_x = px;
    const float* x_scales = x_fp8 && fp8_gemm ? static_cast<const float*>(x.scale.raw()) + r0 : nullptr;
    if (!native && fp8_gemm) {
      void* xq = cuda::scratch(s, offset, elements, op);
      offset = aligned(offset + elements);
      auto* row_scales = static_cast<float*>(cuda::scratch(s, offset, static_cast<std::size_t>(n) * sizeof(float), op));
      offset = aligned(offset + static_cast<std::size_t>(n) * sizeof(float));
      kernels::quantize_fp8({px, xq, row_scales, n, in, x_type}, s.stream);
      gemm_x = xq;
      x_scales = row_scales;
    } else if (!native) {
      void* xb = cuda::scratch(s, offset, elements * sizeof(std::uint16_t), op);
      offset = aligned(offset + elements * sizeof(std::uint16_t));
      if (x_fp8)
        kernels::widen_fp8(px, xb, n * in, s.stream, static_cast<const float*>(x.scale.raw()) + r0, in);
      else
        kernels::scale_output({px, xb, nullptr, nullptr, nullptr, n, in, x_type, kernels::ElementType::BF16, false},
                              s.stream);
      gemm_x = xb;
    }
    const std::size_t out_offset = static_cast<std::size_t>(r0 * out_features) * dtype_size(out.dtype());
    void* gemm_out = direct ? static_cast<char*>(out.raw()) + out_offset
                            : cuda::scratch(s, offset, static_cast<std::size_t>(n * stride) * gemm_out_size, op);
    if (!s.lt->run({gemm_w, gemm_x, gemm_out, n, in, stride, gemm_type}, s.stream)) {
      gemv_rows(r0, r0 + n);
      continue;
    }
    if (split) {
      kernels::SplitOutputParams p{gemm_out, x_scales, scales, bias, {}, {}, n, out_features, gemm_out_type, out_type,
                                   gated};
      if (rope) {
        p.rope = *rope;
        p.rope.first_row = r0;
      }
      for (std::size_t i = 0; i < outs.size(); ++i) {
        p.widths[i] = outs[i]->dim(1);
        p.out[i] = static_cast<char*>(outs[i]->raw()) + r0 * p.widths[i] * dtype_size(out.dtype());
      }
      if (out_fp8) p.out_scales = static_cast<float*>(out_scales->raw()) + r0;
      kernels::split_output(p, s.stream);
    } else if (then_norm && n == rows && gemm_out_type == kernels::ElementType::BF16 && stride == out_features &&
               aligned16(scales) && aligned16(bias) && aligned16(residual_gate->raw())) {
      kernels::RmsNormParams p = *then_norm;
      p.update = {gemm_out, x_scales, scales, bias, static_cast<const float*>(residual_gate->raw())};
      kernels::rms_norm(p, s.stream);
      then_norm = nullptr;  // done
    } else if (!direct || x_scales || scales || bias) {
      kernels::ScaleOutputParams p{gemm_out, static_cast<char*>(out.raw()) + out_offset, x_scales, scales, bias, n,
                                   out_features, gemm_out_type, out_type, accumulate};
      p.src_stride = stride;
      if (residual_gate) {
        p.gate = static_cast<const float*>(residual_gate->raw());
        p.gate_rows = rows / residual_gate->dim(0);
        p.first_row = r0;
      }
      kernels::scale_output(p, s.stream);
    }
  }
  if (then_norm) kernels::rms_norm(*then_norm, s.stream);
}

}  // namespace

void CudaBackend::embed_frame(const Tensor& audio_table, const Tensor& text_table, const Tensor& uncond_text,
                              std::int64_t audio_vocab, const Tensor& tokens, const Tensor& mask, const Tensor& uncond,
                              Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "embed_frame";
  const DType act = state_->activations;
  check_act_or_narrow(*state_, audio_table, op, "audio_table");
  check_tensor(text_table, audio_table.dtype(), op, "text_table (the audio_table's dtype)");
  check_tensor(uncond_text, act, op, "uncond_text");
  check_tensor(tokens, DType::I32, op, "tokens");
  check_tensor(mask, DType::U8, op, "mask");
  check_tensor(uncond, DType::U8, op, "uncond");
  check_tensor(out, act, op, "out");
  check_that(audio_table.rank() == 2 && text_table.rank() == 2 && tokens.rank() == 2, op, "tables and tokens are rank 2");
  const std::int64_t rows = tokens.dim(0), dim = audio_table.dim(1);
  check_shape(tokens, {rows, kFrameColumns}, op, "tokens");
  check_shape(mask, {rows, kFrameColumns}, op, "mask");
  check_shape(uncond, {rows}, op, "uncond");
  check_shape(text_table, {text_table.dim(0), dim}, op, "text_table");
  check_shape(uncond_text, {1, dim}, op, "uncond_text");
  check_shape(out, {rows, dim}, op, "out");
  check_that(audio_vocab > 0 && audio_table.dim(0) == audio_vocab * kernels::kEmbedAudioColumns, op,
             "audio_table rows != 8 x audio_vocab");
  kernels::embed_frame({audio_table.raw(), text_table.raw(), uncond_text.raw(), static_cast<const std::int32_t*>(tokens.raw()),
                        static_cast<const std::uint8_t*>(mask.raw()), static_cast<const std::uint8_t*>(uncond.raw()),
                        out.raw(), rows, dim, audio_vocab, text_table.dim(0),
                        cuda::element_type(audio_table.dtype(), op, "audio_table"), cuda::element_type(act, op, "out")},
                       state_->stream);
}

void CudaBackend::gather_rows(const Tensor& table, const Tensor& ids, std::int64_t id_offset, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "gather_rows";
  check_act_or_narrow(*state_, table, op, "table");
  check_tensor(ids, DType::I32, op, "ids");
  check_act_or_narrow(*state_, out, op, "out");
  check_that(table.rank() == 2 && ids.rank() == 1, op, "table must be rank 2 and ids rank 1");
  check_shape(out, {ids.dim(0), table.dim(1)}, op, "out");
  kernels::gather_rows({table.raw(), static_cast<const std::int32_t*>(ids.raw()), out.raw(), ids.dim(0), table.dim(0),
                        table.dim(1), id_offset, cuda::element_type(table.dtype(), op, "table"),
                        cuda::element_type(out.dtype(), op, "out")},
                       state_->stream);
}

void CudaBackend::linear(const ScaledTensor& x, const Weight& w, Tensor& out) {
  cuda::use_device(*state_);
  Tensor* outs[] = {&out};
  run_linear(*state_, x, w, outs, false, "linear");
}

void CudaBackend::linear_add(const ScaledTensor& x, const Weight& w, Tensor& out) {
  cuda::use_device(*state_);
  Tensor* outs[] = {&out};
  run_linear(*state_, x, w, outs, true, "linear_add");
}

namespace {

// linear_gated_add's GEMM rows (then normalised by `then_norm`, whose x is out).
void gated_add_rows(CudaBackend::State& s, const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& out,
                    std::string_view op, const kernels::RmsNormParams* then_norm = nullptr) {
  const std::int64_t rows = x.data.dim(0);
  check_tensor(out, DType::F32, op, "out");
  check_tensor(gate, DType::F32, op, "gate");
  check_that(out.rank() == 3 && out.dim(0) * out.dim(1) == rows, op,
             "out must be [B, T, out] over x's " + std::to_string(rows) + " rows, got " + shape_str(out.shape()));
  check_shape(gate, {out.dim(0), out.dim(2)}, op, "gate");
  Tensor out_rows = out.reshape({rows, out.dim(2)});
  Tensor* outs[] = {&out_rows};
  run_linear(s, x, w, outs, true, op, false, &gate, nullptr, nullptr, then_norm);
}

// GEMM rows: x rank 2 with more rows than a GEMV takes.
bool gemm_rows(const ScaledTensor& x) {
  return x.data.defined() && x.data.rank() == 2 && x.data.dim(0) > kernels::kGemvMaxRows;
}

}  // namespace

void CudaBackend::linear_gated_add(const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& proj,
                                   Tensor& out) {
  cuda::use_device(*state_);
  if (!gemm_rows(x)) return Backend::linear_gated_add(x, w, gate, proj, out);
  gated_add_rows(*state_, x, w, gate, out, "linear_gated_add");
}

void CudaBackend::linear_gated_add_norm(const ScaledTensor& x, const Weight& w, const Tensor& gate, Tensor& proj,
                                        Tensor& out, const Tensor& norm_weight, float eps, const Tensor& shift,
                                        const Tensor& scale, ScaledTensor norm) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "linear_gated_add_norm";
  if (!gemm_rows(x)) return Backend::linear_gated_add_norm(x, w, gate, proj, out, norm_weight, eps, shift, scale, norm);
  const kernels::RmsNormParams p = cuda::modulated_norm(*state_, out, norm_weight, eps, shift, scale, norm, op);
  check_that(norm.data.raw() != out.raw(), op, "norm must not alias out");
  gated_add_rows(*state_, x, w, gate, out, op, &p);
}

void CudaBackend::linear_parts(const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs) {
  cuda::use_device(*state_);
  // Decode rows: one GEMV into every part; prefill: a GEMM per part.
  if (!x.data.defined() || x.data.rank() != 2) return Backend::linear_parts(x, w, outs);
  run_linear(*state_, x, w, outs, false, "linear_parts");
}

void CudaBackend::linear_parts_rope(const ScaledTensor& x, const Weight& w, std::span<Tensor* const> outs,
                                    std::size_t rotated, const Tensor& positions, const Tensor& inv_freq) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "linear_parts_rope";
  if (!x.data.defined() || x.data.rank() != 2)
    return Backend::linear_parts_rope(x, w, outs, rotated, positions, inv_freq);
  check_tensor(positions, DType::I32, op, "positions");
  check_tensor(inv_freq, DType::F32, op, "inv_freq (upload it with upload_exact)");
  check_that(positions.rank() == 1 && positions.dim(0) > 0 && x.data.dim(0) % positions.dim(0) == 0, op,
             "positions must be [S] with S dividing x's " + std::to_string(x.data.dim(0)) + " rows");
  check_that(inv_freq.rank() == 1 && inv_freq.dim(0) > 0, op, "inv_freq must be [head_dim / 2]");
  check_that(rotated <= outs.size(), op, "more rotated outputs than outputs");
  for (std::size_t i = 0; i < rotated; ++i)
    check_that(outs[i]->rank() == 2 && outs[i]->dim(1) % (2 * inv_freq.dim(0)) == 0, op,
               "a rotated output's width must be heads x head_dim");
  const kernels::SplitRope rope{static_cast<int>(rotated), static_cast<const std::int32_t*>(positions.raw()),
                                static_cast<const float*>(inv_freq.raw()), positions.dim(0), 2 * inv_freq.dim(0)};
  run_linear(*state_, x, w, outs, false, op, false, nullptr, &rope);
}

void CudaBackend::linear_swiglu(const ScaledTensor& x, const Weight& w, Tensor& gate, Tensor& up, ScaledTensor out) {
  cuda::use_device(*state_);
  // bf16 / fp8 weights: one gated GEMV or GEMM; fp32 weights: two linears and silu_mul.
  if (!x.data.defined() || x.data.rank() != 2 || w.values.dtype() == DType::F32)
    return Backend::linear_swiglu(x, w, gate, up, out);
  Tensor* outs[] = {&out.data};
  run_linear(*state_, x, w, outs, false, "linear_swiglu", true, nullptr, nullptr, out.fp8() ? &out.scale : nullptr);
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& scale, float eps, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "rms_norm";
  const DType act = state_->activations;
  check_tensor(x, act, op, "x");
  check_tensor(scale, act, op, "scale");
  check_act_or_narrow(*state_, out, op, "out");
  check_that(x.rank() == 2, op, "x must be rank 2, got " + shape_str(x.shape()));
  check_shape(scale, {x.dim(1)}, op, "scale");
  check_shape(out, x.shape(), op, "out");
  kernels::rms_norm({x.raw(), scale.raw(), out.raw(), x.dim(0), x.dim(1), eps, cuda::element_type(act, op, "x"),
                     cuda::element_type(out.dtype(), op, "out")},
                    state_->stream);
}

void CudaBackend::rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "rope";
  const DType act = state_->activations;
  check_tensor(x, act, op, "x");
  check_tensor(positions, DType::I32, op, "positions");
  check_tensor(inv_freq, DType::F32, op, "inv_freq (upload it with upload_exact)");
  check_that(x.rank() == 4 && x.dim(3) % 2 == 0, op, "x must be [B, S, H, even head_dim], got " + shape_str(x.shape()));
  check_shape(positions, {x.dim(1)}, op, "positions");
  check_shape(inv_freq, {x.dim(3) / 2}, op, "inv_freq");
  kernels::rope({x.raw(), static_cast<const std::int32_t*>(positions.raw()), static_cast<const float*>(inv_freq.raw()),
                 x.dim(0) * x.dim(1), x.dim(1), x.dim(2), x.dim(3), 0, cuda::element_type(act, op, "x")},
                state_->stream);
}

void CudaBackend::kv_store(ScaledTensor cache, const Tensor& src, const Tensor& positions) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "kv_store";
  const DType act = state_->activations;
  cuda::check_kv(*state_, cache, cache, op, "cache");
  check_tensor(src, act, op, "src");
  check_tensor(positions, DType::I32, op, "positions");
  const Tensor& c = cache.data;
  check_that(c.rank() == 4 && src.rank() == 4, op, "cache and src must be rank 4");
  check_shape(src, {c.dim(0), src.dim(1), c.dim(2), c.dim(3)}, op, "src");
  check_shape(positions, {src.dim(1)}, op, "positions");
  if (cache.fp8()) {
    cuda::store_kv_fp8(*state_, cache, src.reshape({c.dim(0) * src.dim(1), c.dim(2) * c.dim(3)}), positions, nullptr,
                       c.dim(0), c.dim(1), op);
    return;
  }
  kernels::kv_store({c.raw(), src.raw(), static_cast<const std::int32_t*>(positions.raw()), c.dim(0), src.dim(1),
                     c.dim(1), c.dim(2) * c.dim(3), cuda::element_type(act, op, "src"),
                     cuda::element_type(c.dtype(), op, "cache")},
                    state_->stream);
}

void CudaBackend::rope_store(Tensor& q, Tensor& k, const Tensor& v, const Tensor& positions, const Tensor& inv_freq,
                             ScaledTensor k_cache, ScaledTensor v_cache) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "rope_store";
  const DType act = state_->activations;
  check_tensor(q, act, op, "q");
  check_tensor(k, act, op, "k");
  check_tensor(v, act, op, "v");
  cuda::check_kv(*state_, k_cache, v_cache, op, "the cache's");
  check_tensor(positions, DType::I32, op, "positions");
  check_tensor(inv_freq, DType::F32, op, "inv_freq (upload it with upload_exact)");
  const Tensor& kc = k_cache.data;
  check_that(q.rank() == 4 && k.rank() == 4 && kc.rank() == 4, op, "q, k and the caches must be rank 4");
  const std::int64_t batch = q.dim(0), seq = q.dim(1), head_dim = q.dim(3), kv_heads = k.dim(2);
  check_that(head_dim % 2 == 0, op, "head_dim must be even, got " + shape_str(q.shape()));
  check_shape(k, {batch, seq, kv_heads, head_dim}, op, "k");
  check_shape(v, k.shape(), op, "v");
  check_shape(kc, {batch, kc.dim(1), kv_heads, head_dim}, op, "k_cache");
  check_shape(v_cache.data, kc.shape(), op, "v_cache");
  check_shape(positions, {seq}, op, "positions");
  check_shape(inv_freq, {head_dim / 2}, op, "inv_freq");
  const bool fp8 = k_cache.fp8();
  kernels::rope_store({q.raw(), k.raw(), v.raw(), fp8 ? nullptr : kc.raw(), fp8 ? nullptr : v_cache.data.raw(),
                       static_cast<const std::int32_t*>(positions.raw()), static_cast<const float*>(inv_freq.raw()),
                       batch, seq, q.dim(2), kv_heads, head_dim, kc.dim(1), cuda::element_type(act, op, "q"),
                       fp8 ? kernels::ElementType::BF16 : cuda::element_type(kc.dtype(), op, "k_cache")},
                      state_->stream);
  if (fp8) {
    const Shape rows{batch * seq, kv_heads * head_dim};
    cuda::store_kv_fp8(*state_, k_cache, k.reshape(rows), positions, nullptr, batch, kc.dim(1), op);
    cuda::store_kv_fp8(*state_, v_cache, v.reshape(rows), positions, nullptr, batch, kc.dim(1), op);
  }
}

void CudaBackend::attention(const Tensor& q, const ScaledTensor& kv_k, const ScaledTensor& kv_v, const Tensor* positions,
                            Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "attention";
  check_act_or_narrow(*state_, q, op, "q");
  cuda::check_kv(*state_, kv_k, kv_v, op, "the cache's");
  check_act_or_narrow(*state_, out, op, "out");
  const Tensor &k = kv_k.data, &v = kv_v.data;
  check_that(q.rank() == 4 && k.rank() == 4, op, "q and k must be rank 4");
  const std::int64_t batch = q.dim(0), seq = q.dim(1), heads = q.dim(2), head_dim = q.dim(3);
  const std::int64_t keys = k.dim(1), kv_heads = k.dim(2);
  check_shape(k, {batch, keys, kv_heads, head_dim}, op, "k");
  check_shape(v, k.shape(), op, "v");
  check_shape(out, q.shape(), op, "out");
  check_that(kv_heads > 0 && heads % kv_heads == 0, op, "query heads are not a multiple of kv heads");
  check_that(head_dim % 2 == 0 && head_dim <= kernels::kAttentionMaxHeadDim, op,
             "head_dim " + std::to_string(head_dim) + " must be even and at most 384");
  if (positions) {
    check_tensor(*positions, DType::I32, op, "positions");
    check_shape(*positions, {seq}, op, "positions");
  }
  if (state_->attention_tensor_cores && !positions && !kv_k.fp8() && kv_heads == heads &&
      kernels::flash_attention_supports(head_dim)) {
    kernels::flash_attention({q.raw(), k.raw(), v.raw(), out.raw(), batch, seq, heads, head_dim, keys,
                              cuda::element_type(q.dtype(), op, "q"), cuda::element_type(k.dtype(), op, "k"),
                              cuda::element_type(out.dtype(), op, "out")},
                             state_->stream);
    return;
  }
  kernels::AttentionParams p{q.raw(), nullptr, nullptr, out.raw(),
                             positions ? static_cast<const std::int32_t*>(positions->raw()) : nullptr,
                             nullptr, batch, seq, heads, kv_heads, head_dim, keys,
                             cuda::element_type(q.dtype(), op, "q"), kernels::ElementType::BF16,
                             cuda::element_type(out.dtype(), op, "out")};
  cuda::read_kv(p, kv_k, kv_v, op);
  const std::int64_t floats = kernels::attention_workspace_floats(p);
  if (floats) p.workspace = static_cast<float*>(cuda::scratch(*state_, 0, static_cast<std::size_t>(floats) * sizeof(float), op));
  kernels::attention(p, state_->stream);
}

void CudaBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "silu_mul";
  const DType act = state_->activations;
  check_tensor(gate, act, op, "gate");
  check_tensor(up, act, op, "up");
  check_act_or_narrow(*state_, out, op, "out");
  check_shape(up, gate.shape(), op, "up");
  check_shape(out, gate.shape(), op, "out");
  kernels::silu_mul({gate.raw(), up.raw(), out.raw(), gate.numel(), cuda::element_type(act, op, "gate"),
                     cuda::element_type(out.dtype(), op, "out")},
                    state_->stream);
}

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "add";
  const DType act = state_->activations;
  check_tensor(a, act, op, "a");
  check_tensor(b, act, op, "b");
  check_tensor(out, act, op, "out");
  check_shape(b, a.shape(), op, "b");
  check_shape(out, a.shape(), op, "out");
  kernels::add({a.raw(), b.raw(), out.raw(), a.numel(), cuda::element_type(act, op, "a")}, state_->stream);
}

void CudaBackend::sample(const Tensor& logits, const SamplingParams& params, Tensor& rng, Tensor& token,
                         Tensor* guided) {
  cuda::use_device(*state_);
  constexpr std::string_view op = "sample";
  const DType act = state_->activations;
  check_tensor(logits, act, op, "logits");
  check_tensor(rng, DType::I64, op, "rng");
  check_tensor(token, DType::I32, op, "token");
  check_that(logits.rank() == 2 && (logits.dim(0) == 1 || logits.dim(0) == 2), op,
             "logits must be [1 or 2, V], got " + shape_str(logits.shape()));
  const std::int64_t vocab = logits.dim(1);
  check_that(vocab > 0 && vocab <= kernels::kSampleMaxVocab, op, "vocabulary of " + std::to_string(vocab) + " entries");
  check_shape(rng, {kRngWords}, op, "rng");
  check_shape(token, {1}, op, "token");
  check_that(params.topk >= 1, op, "topk " + std::to_string(params.topk) + " < 1");
  check_that(!std::isnan(params.temperature), op, "temperature is NaN");
  if (guided) {
    check_tensor(*guided, act, op, "guided");
    check_shape(*guided, {vocab}, op, "guided");
  }
  kernels::sample({logits.raw(), guided ? guided->raw() : nullptr, static_cast<std::int64_t*>(rng.raw()),
                   static_cast<std::int32_t*>(token.raw()), logits.dim(0), vocab, params.cfg_scale, params.temperature,
                   params.topk, cuda::element_type(act, op, "logits"), params.blocked_begin, params.blocked_end},
                  state_->stream);
}

}  // namespace hs
