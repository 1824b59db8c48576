// HeartCodec: code frames → 48 kHz stereo (REFERENCE.md "The codec"). An immutable model holding
// the weights on one backend, converted once at load; per-stream state (noise, decoder carries)
// lives with the caller (NoiseSource, ScalarDecoderStream), so one model serves many sessions.
#pragma once

#include <filesystem>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_weights.h"
#include "engine/model/codec/flow_matching.h"
#include "engine/model/codec/scalar_decoder.h"

namespace hs {

class CodecModel {
 public:
  // Builds the model from named host tensors (a checkpoint's, or built in memory).
  CodecModel(Backend& backend, const NamedTensors& tensors, const CodecConfig& config,
             Precision precision = Precision::F32);
  // Loads a HeartCodec checkpoint folder (config.json + safetensors).
  static CodecModel load(Backend& backend, const std::filesystem::path& folder, Precision precision = Precision::F32);

  Backend& backend() const { return *backend_; }
  const CodecConfig& config() const { return config_; }
  const FlowMatcher& flow() const { return flow_; }
  const ScalarDecoder& decoder() const { return decoder_; }
  // Audio samples per code frame (80 ms at 48 kHz: 3840).
  std::int64_t samples_per_code_frame() const;

 private:
  CodecModel(Backend& backend, const CodecWeightLoader& weights, const CodecConfig& config);

  Backend* backend_;
  CodecConfig config_;
  FlowMatcher flow_;
  ScalarDecoder decoder_;
};

}  // namespace hs
