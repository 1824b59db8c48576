#include "engine/model/codec/codec_weights.h"

#include <cmath>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

std::string cat(std::string_view a, std::string_view b) { return std::string(a) + std::string(b); }

// Weight-norm parameter names: {g, v} in the current and the older PyTorch convention.
constexpr std::string_view kParamG = ".parametrizations.weight.original0";
constexpr std::string_view kParamV = ".parametrizations.weight.original1";
constexpr std::string_view kLegacyG = ".weight_g";
constexpr std::string_view kLegacyV = ".weight_v";
constexpr std::int64_t kFp8RowBytes = 16;

}  // namespace

NamedTensors named_tensors(const TensorStore& store) {
  NamedTensors out;
  for (const auto& name : store.names()) out.emplace(name, store.get(name));
  return out;
}

CodecWeightLoader::CodecWeightLoader(Backend& backend, const NamedTensors& tensors, Precision precision,
                                     LinearLoader* linears)
    : backend_(backend), tensors_(tensors), precision_(precision), linears_(linears) {}

bool CodecWeightLoader::contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

Tensor CodecWeightLoader::host(std::string_view name, const Shape& shape) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw FormatError("codec checkpoint: missing tensor '" + std::string(name) + "'");
  if (it->second.shape() != shape)
    throw FormatError("codec checkpoint: tensor '" + std::string(name) + "' has shape " +
                      shape_str(it->second.shape()) + ", expected " + shape_str(shape));
  return it->second;
}

Tensor CodecWeightLoader::device(std::string_view name, const Shape& shape) const {
  return backend_.upload(host(name, shape));
}

Weight CodecWeightLoader::linear(std::string_view prefix, std::int64_t in, std::int64_t out, bool with_bias) const {
  const std::string key = cat(prefix, ".weight");
  const Tensor w = host(key, {out, in});  // a view: a cache hit never reads its data
  const Tensor b = with_bias ? host(cat(prefix, ".bias"), {out}) : Tensor();
  const Tensor* bias = with_bias ? &b : nullptr;
  // fp8 rows are read in whole 16-byte vectors: a narrower input (the tiny test codec's 8-wide
  // RVQ projection) stays bf16. Every released linear is at least 32 wide.
  if (precision_ == Precision::FP8 && in % kFp8RowBytes != 0) return backend_.load_linear(w, bias, Precision::BF16);
  if (linears_) return linears_->load(key, {out, in}, [&] { return w; }, bias);
  return backend_.load_linear(w, bias, precision_);
}

Weight CodecWeightLoader::stacked_linear(std::initializer_list<std::string> prefixes, std::int64_t in,
                                         std::int64_t out) const {
  const auto n = static_cast<std::int64_t>(prefixes.size());
  Weight all;
  std::int64_t row = 0;
  for (const std::string& prefix : prefixes) {
    const Weight part = linear(prefix, in, out, false);
    if (all.values.defined() && part.values.dtype() != all.values.dtype())  // a --keep pattern split the stack
      throw InvalidArgument("codec linear '" + prefix + ".weight' loads as " +
                            std::string(dtype_name(part.values.dtype())) + ", the ones stacked before it into one " +
                            "GEMM as " + std::string(dtype_name(all.values.dtype())) +
                            ": keep all of a block's q/k/v (or gate/up) projections in bf16, or none");
    if (!all.values.defined()) {
      all.values = backend_.alloc({n * out, in}, part.values.dtype());
      if (part.scales.defined()) all.scales = backend_.alloc({n * out}, part.scales.dtype());
    }
    Tensor values = all.values.slice(row, row + out);
    backend_.copy(part.values, values);
    if (part.scales.defined()) {
      Tensor scales = all.scales.slice(row, row + out);
      backend_.copy(part.scales, scales);
    }
    row += out;
  }
  return all;
}

Tensor CodecWeightLoader::weight_norm(std::string_view prefix, const Shape& shape) const {
  const bool current = contains(cat(prefix, kParamG));
  if (!current && !contains(cat(prefix, kLegacyG)))
    throw FormatError("codec checkpoint: missing weight-norm parameters '" + cat(prefix, kParamG) + "' (or '" +
                      cat(prefix, kLegacyG) + "')");
  Shape g_shape(shape.size(), 1);
  g_shape[0] = shape[0];
  const Tensor g = host(cat(prefix, current ? kParamG : kLegacyG), g_shape).to_f32();
  const Tensor v = host(cat(prefix, current ? kParamV : kLegacyV), shape).to_f32();
  Tensor w = Tensor::zeros(shape, DType::F32);
  const std::int64_t rows = shape[0], row = rows == 0 ? 0 : v.numel() / rows;
  const float* gs = g.data<float>();
  const float* vs = v.data<float>();
  float* ws = w.data<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    double sum_sq = 0.0;
    for (std::int64_t i = 0; i < row; ++i) sum_sq += double{vs[r * row + i]} * vs[r * row + i];
    const double factor = gs[r] / std::sqrt(sum_sq);
    for (std::int64_t i = 0; i < row; ++i) ws[r * row + i] = static_cast<float>(vs[r * row + i] * factor);
  }
  return conv(w);
}

Weight CodecWeightLoader::conv_taps(const Tensor& host) const {
  const Tensor w = host.to_f32();
  const std::int64_t out = w.dim(0), in = w.dim(1), kernel = w.dim(2);
  Tensor taps = Tensor::zeros({kernel * out, in}, DType::F32);
  const float* src = w.data<float>();
  float* dst = taps.data<float>();
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t i = 0; i < in; ++i)
      for (std::int64_t j = 0; j < kernel; ++j) dst[(j * out + o) * in + i] = src[(o * in + i) * kernel + j];
  return backend_.load_linear(taps, nullptr, precision_ == Precision::F32 ? Precision::F32 : Precision::BF16);
}

Tensor CodecWeightLoader::conv(const Tensor& host) const {
  if (precision_ == Precision::F32) return backend_.upload(host);
  // A [Cout, Cin, K] conv is the linear [Cout, Cin·K] over its input windows: load_linear gives
  // the backend's bf16 weight format (bf16 on a device, bf16-rounded fp32 on the CPU).
  const std::int64_t rows = host.rank() == 0 ? 0 : host.dim(0);
  const Tensor flat = host.reshape({rows, rows == 0 ? 0 : host.numel() / rows});
  return backend_.load_linear(flat, nullptr, Precision::BF16).values.reshape(host.shape());
}

}  // namespace hs
