// How a model's binder turns each named linear weight into a backend Weight. The host weight is
// produced on demand, so a loader that has the linear already (the fp8 weight cache) never reads,
// stacks or transposes the source.
#pragma once

#include <functional>
#include <string>

#include "engine/core/backend.h"

namespace hs {

class LinearLoader {
 public:
  virtual ~LinearLoader() = default;
  // `key` names the linear (a source tensor's name, or the binder's name for a stack of them or a
  // transposed one), `shape` is its [out, in], `weight` makes the host weight of that shape.
  virtual Weight load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
                      const Tensor* bias) = 0;
  // The precision of the weights it makes (the binder keeps embedding tables in the matching
  // Backend::narrow_dtype).
  virtual Precision precision() const = 0;
};

// Every linear converted from the source at one precision (Backend::load_linear).
class PrecisionLinears final : public LinearLoader {
 public:
  PrecisionLinears(Backend& backend, Precision precision) : backend_(backend), precision_(precision) {}
  Weight load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
              const Tensor* bias) override {
    return backend_.load_linear(weight(), bias, precision_);
  }
  Precision precision() const override { return precision_; }

 private:
  Backend& backend_;
  Precision precision_;
};

}  // namespace hs
