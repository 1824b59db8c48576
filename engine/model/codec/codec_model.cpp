#include "engine/model/codec/codec_model.h"

#include "engine/io/safetensors.h"

namespace hs {
namespace {
constexpr std::int64_t kLatentFramesPerCodeFrame = 2;  // 12.5 Hz codes → 25 Hz latents
}  // namespace

CodecModel::CodecModel(Backend& backend, const NamedTensors& tensors, const CodecConfig& config,
                       Precision precision)
    : CodecModel(backend, CodecWeightLoader(backend, tensors, precision), config) {}

CodecModel::CodecModel(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config)
    : backend_(&backend), config_(config), flow_(backend, weights, config), decoder_(backend, weights, config) {}

CodecModel CodecModel::load(Backend& backend, const std::filesystem::path& folder, Precision precision) {
  const CodecConfig config = read_codec_config(folder / "config.json");
  return CodecModel(backend, named_tensors(TensorStore::open(folder)), config, precision);
}

std::int64_t CodecModel::samples_per_code_frame() const {
  return decoder_.samples_per_frame() * kLatentFramesPerCodeFrame;
}

}  // namespace hs
