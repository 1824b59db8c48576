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

}  // namespace

NamedTensors named_tensors(const TensorStore& store) {
  NamedTensors out;
  for (const auto& name : store.names()) out.emplace(name, store.get(name));
  return out;
}

CodecWeightLoader::CodecWeightLoader(Backend& backend, const NamedTensors& tensors, Precision precision)
    : backend_(backend), tensors_(tensors), precision_(precision) {}

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
  const Tensor w = host(cat(prefix, ".weight"), {out, in});
  if (!with_bias) return backend_.load_linear(w, nullptr, precision_);
  const Tensor b = host(cat(prefix, ".bias"), {out});
  return backend_.load_linear(w, &b, precision_);
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
  return backend_.upload(w);
}

}  // namespace hs
