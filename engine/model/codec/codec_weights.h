// Loading codec weights: a name → tensor source (a checkpoint's TensorStore, or a map built in
// memory by tests and benchmarks), shape checks that name the tensor, and the load-time folds
// (weight norm) before the tensors are converted once by the Backend.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "engine/core/backend.h"
#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"

namespace hs {

// Host tensors by name (views into a mapped checkpoint, or owned buffers).
using NamedTensors = std::map<std::string, Tensor, std::less<>>;

// Every tensor of a store, as zero-copy views.
NamedTensors named_tensors(const TensorStore& store);

// Reads tensors from a NamedTensors for one backend. Missing tensors and unexpected shapes throw
// FormatError naming the tensor.
class CodecWeightLoader {
 public:
  CodecWeightLoader(Backend& backend, const NamedTensors& tensors, Precision precision);

  bool contains(std::string_view name) const;
  // The host tensor `name`, checked against `shape`.
  Tensor host(std::string_view name, const Shape& shape) const;
  // `name` on the backend (fp32 activations format).
  Tensor device(std::string_view name, const Shape& shape) const;
  // A linear layer `prefix`.weight [out, in] (+ `prefix`.bias [out] when with_bias).
  Weight linear(std::string_view prefix, std::int64_t in, std::int64_t out, bool with_bias) const;
  // A weight-normed conv weight of shape `shape` (dim 0 = the normalised axis), folded
  // w = g · v / ‖v‖ with the norm over all dims but 0. Accepts both checkpoint conventions:
  // `prefix`.parametrizations.weight.original0/1 and `prefix`.weight_g/weight_v.
  Tensor weight_norm(std::string_view prefix, const Shape& shape) const;
  // Uploads a host tensor built at load time.
  Tensor upload(const Tensor& host) const { return backend_.upload(host); }

 private:
  Backend& backend_;
  const NamedTensors& tensors_;
  Precision precision_;
};

}  // namespace hs
