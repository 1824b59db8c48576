// Which linears cost the most when quantized (`heartstream quality`, the evidence for `quantize
// --keep`): the LM's linears fall into groups — one layer's attention (qkv + output projection) or
// MLP (w13 + w2) per stack, and each head / projection by name — and a model can be rebuilt with
// one group at another precision while every other linear reuses the reference model's weights
// (no second copy, no re-reading of the checkpoint's other tensors).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/model/common/linear_loader.h"

namespace hs {

// The group of a linear's loader key: "backbone.layers.3.attn", "decoder.layers.0.mlp",
// "codebook0_head", "audio_head", "projection", "muq_linear".
std::string linear_group(const std::string& key);

// Loads every linear at one precision (PrecisionLinears) and keeps what it made, by key.
class RecordingLinears final : public LinearLoader {
 public:
  RecordingLinears(Backend& backend, Precision precision) : inner_(backend, precision) {}
  Weight load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
              const Tensor* bias) override;
  Precision precision() const override { return inner_.precision(); }

  const std::map<std::string, Weight>& weights() const { return weights_; }
  std::vector<std::string> groups() const;  // the groups of the recorded keys, in load order

 private:
  PrecisionLinears inner_;
  std::map<std::string, Weight> weights_;
  std::vector<std::string> groups_;
};

// The recorded weights, except the linears of `group`, which load from the source at `precision`.
// Reports the recorded loader's precision (the embedding tables stay the reference's).
class GroupLinears final : public LinearLoader {
 public:
  GroupLinears(Backend& backend, const RecordingLinears& recorded, std::string group, Precision precision)
      : backend_(backend), recorded_(recorded), group_(std::move(group)), precision_(precision) {}
  // FormatError for a key the recording does not hold (another checkpoint's layout).
  Weight load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
              const Tensor* bias) override;
  Precision precision() const override { return recorded_.precision(); }

 private:
  Backend& backend_;
  const RecordingLinears& recorded_;
  std::string group_;
  Precision precision_;
};

}  // namespace hs
