#include "engine/pipeline/linear_groups.h"

#include <algorithm>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::string_view kLayers = ".layers.";

}  // namespace

std::string linear_group(const std::string& key) {
  const std::size_t layers = key.find(kLayers);
  if (layers != std::string::npos) {
    const std::size_t index_end = key.find('.', layers + kLayers.size());
    const std::size_t kind_end = index_end == std::string::npos ? std::string::npos : key.find('.', index_end + 1);
    if (kind_end != std::string::npos) return key.substr(0, kind_end);  // "<stack>.layers.<i>.<attn|mlp>"
  }
  return key.substr(0, key.find('.'));
}

Weight RecordingLinears::load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
                              const Tensor* bias) {
  Weight w = inner_.load(key, shape, weight, bias);
  weights_[key] = w;
  const std::string group = linear_group(key);
  if (std::find(groups_.begin(), groups_.end(), group) == groups_.end()) groups_.push_back(group);
  return w;
}

std::vector<std::string> RecordingLinears::groups() const { return groups_; }

Weight GroupLinears::load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
                          const Tensor* bias) {
  if (linear_group(key) == group_) return backend_.load_linear(weight(), bias, precision_);
  const auto it = recorded_.weights().find(key);
  if (it == recorded_.weights().end()) throw FormatError("linear '" + key + "' was not loaded by the reference model");
  return it->second;
}

}  // namespace hs
