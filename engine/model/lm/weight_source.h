// Where HeartMuLa's weights come from: a checkpoint's TensorStore, or an in-memory name → tensor
// source (tests, benchmarks with random weights of real shapes).
#pragma once

#include <map>
#include <string>

#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"

namespace hs {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool contains(const std::string& name) const = 0;
  // The host tensor `name` (any float dtype); only called for names contains() accepts.
  virtual Tensor get(const std::string& name) const = 0;
  // Where the weights come from, for error messages ("…/model.safetensors").
  virtual std::string describe() const = 0;
};

class TensorStoreSource final : public WeightSource {
 public:
  explicit TensorStoreSource(TensorStore store) : store_(std::move(store)) {}
  bool contains(const std::string& name) const override { return store_.contains(name); }
  Tensor get(const std::string& name) const override { return store_.get(name); }
  std::string describe() const override { return store_.path().string(); }

 private:
  TensorStore store_;
};

class TensorMapSource final : public WeightSource {
 public:
  explicit TensorMapSource(std::map<std::string, Tensor> tensors) : tensors_(std::move(tensors)) {}
  bool contains(const std::string& name) const override { return tensors_.count(name) != 0; }
  Tensor get(const std::string& name) const override { return tensors_.at(name); }
  std::string describe() const override { return "in-memory weights"; }

 private:
  std::map<std::string, Tensor> tensors_;
};

}  // namespace hs
