// Checkpoint folder resolution as the reference does it: given --model_path P and --version V,
//   P/HeartMuLa-oss-V, P/HeartCodec-oss, P/gen_config.json, P/tokenizer.json.
#pragma once

#include <filesystem>
#include <string>

namespace hs {

struct CheckpointPaths {
  std::filesystem::path mula_dir;     // config.json + *.safetensors
  std::filesystem::path codec_dir;    // config.json + *.safetensors
  std::filesystem::path gen_config;   // gen_config.json
  std::filesystem::path tokenizer;    // tokenizer.json
};

// Resolves every path and checks each exists; one FormatError lists everything that is missing.
// `need_codec` = false skips the codec folder (token-only generation).
CheckpointPaths resolve_checkpoint(const std::filesystem::path& model_path, const std::string& version,
                                   bool need_codec = true);

}  // namespace hs
