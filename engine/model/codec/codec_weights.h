// Loading codec weights: a name → tensor source (a checkpoint's TensorStore, or a map built in
// memory by tests and benchmarks), shape checks that name the tensor, and the load-time folds
// (weight norm) before the tensors are converted once by the Backend.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "engine/core/backend.h"
#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"
#include "engine/model/common/linear_loader.h"

namespace hs {

// Host tensors by name (views into a mapped checkpoint, or owned buffers).
using NamedTensors = std::map<std::string, Tensor, std::less<>>;

// Every tensor of a store, as zero-copy views.
NamedTensors named_tensors(const TensorStore& store);

// Reads tensors from a NamedTensors for one backend. Missing tensors and unexpected shapes throw
// FormatError naming the tensor.
class CodecWeightLoader {
 public:
  // Linears convert at `precision` (Backend::load_linear), or through `linears` when given (the fp8
  // weight cache: Fp8CachedLinears, keyed by each linear's weight tensor name).
  CodecWeightLoader(Backend& backend, const NamedTensors& tensors, Precision precision,
                    LinearLoader* linears = nullptr);

  bool contains(std::string_view name) const;
  // The host tensor `name`, checked against `shape`.
  Tensor host(std::string_view name, const Shape& shape) const;
  // `name` on the backend (fp32 activations format).
  Tensor device(std::string_view name, const Shape& shape) const;
  // A linear layer `prefix`.weight [out, in] (+ `prefix`.bias [out] when with_bias).
  Weight linear(std::string_view prefix, std::int64_t in, std::int64_t out, bool with_bias) const;
  // Bias-free linears of one input, `prefix`.weight [out, in] each, loaded as linear() loads them
  // and stacked by rows on the backend into one [n · out, in] weight (one GEMM for q, k and v).
  Weight stacked_linear(std::initializer_list<std::string> prefixes, std::int64_t in, std::int64_t out) const;
  // A weight-normed conv weight of shape `shape` (dim 0 = the normalised axis), folded
  // w = g · v / ‖v‖ with the norm over all dims but 0. Accepts both checkpoint conventions:
  // `prefix`.parametrizations.weight.original0/1 and `prefix`.weight_g/weight_v.
  // The result is on the backend in the conv format (conv()).
  Tensor weight_norm(std::string_view prefix, const Shape& shape) const;
  // A conv weight on the backend: F32 for an fp32 load, else BF16 (the fp8 codec's convolutions
  // stay bf16: they are ~10 % of its arithmetic, and the scalar decoder's audio is what the
  // listener hears). `host` is any float host tensor.
  Tensor conv(const Tensor& host) const;
  // The dtype the backend feeds these linears in (Backend::narrow_dtype of the load precision).
  DType narrow_dtype() const { return backend_.narrow_dtype(precision_); }
  // The dtype of the linears' inputs their producers write (Backend::gemm_input_dtype).
  DType gemm_input_dtype() const { return backend_.gemm_input_dtype(precision_); }
  // A conv weight [Cout, Cin, K] (any float host tensor) as the linear of its taps, [K·Cout, Cin]
  // with row j·Cout + o = weight[o, :, j] (Backend::sum_taps adds the taps up), at the precision
  // conv() keeps: F32 for an fp32 load, else BF16.
  Weight conv_taps(const Tensor& host) const;
  // Uploads a host tensor built at load time.
  Tensor upload(const Tensor& host) const { return backend_.upload(host); }

 private:
  Backend& backend_;
  const NamedTensors& tensors_;
  Precision precision_;
  LinearLoader* linears_;  // null: Backend::load_linear at precision_
};

}  // namespace hs
