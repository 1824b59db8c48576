// Everything a song needs that is shared and immutable: the backend, the tokenizer, the LM and the
// codec, loaded once from the configured checkpoint. Owned by the engine worker; only its thread
// runs them.
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"
#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/lm/mula_model.h"
#include "engine/text/tokenizer.h"

namespace hs::daemon {

struct EngineModels {
  std::unique_ptr<Backend> backend;  // declared first: the models refer to it
  GenConfig gen;
  Tokenizer tokenizer;
  std::shared_ptr<const MulaModel> mula;
  std::unique_ptr<const CodecModel> codec;
  std::string description;  // "HeartMuLa-oss-3B on cpu (fp32)", for /v1/info and the log
};

// Loads the checkpoint `config.path` / `config.version` on `config.device` at `config.precision`.
// Throws ConfigError for a device this build lacks, FormatError for a bad checkpoint.
EngineModels load_engine_models(const ModelConfig& config);

}  // namespace hs::daemon
