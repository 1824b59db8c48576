// A small random-weight checkpoint folder in the real layout (REFERENCE.md "Checkpoint layout"),
// so the whole pipeline can be tried without downloading weights:
//   DIR/HeartMuLa-oss-demo/{config.json, model.safetensors}  bf16, llama-demo + llama-demo-dec
//   DIR/HeartCodec-oss/{config.json, model.safetensors}      fp32, small DiT and scalar decoder
//   DIR/gen_config.json, DIR/tokenizer.json                  a toy byte-level BPE tokenizer
// Its audio is noise-like: the weights are random.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "engine/core/backend.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"

namespace hs {

// `--version demo` selects HeartMuLa-oss-demo.
inline constexpr std::string_view kDemoVersion = "demo";
inline constexpr std::uint64_t kDemoSeed = 1234;

// Configurations of the demo model. The LM's audio vocabulary is the real one (8197: 8192 codes,
// then EOS and other specials); its text vocabulary is the demo tokenizer's.
MulaConfig demo_mula_config(std::int64_t text_vocab_size);
CodecConfig demo_codec_config();

// Writes a HeartMuLa folder of seeded random weights for `config` into `dir` (created if needed):
// config.json and model.safetensors (bf16, random_mula_weights with `code_count` decodable ids).
// The demo checkpoint's LM is one; benchmarks write others of the released flavors' shapes.
// Error naming the path when a file cannot be written.
void write_random_mula_folder(const std::filesystem::path& dir, const MulaConfig& config, std::int64_t code_count,
                              std::uint64_t seed);

// Writes the demo checkpoint into `dir` (created if needed; files of the same names replaced,
// anything else left alone), calibrating the codec's output level on `backend`, and returns its
// resolved paths. Error naming the path when a file cannot be written.
CheckpointPaths write_demo_checkpoint(const std::filesystem::path& dir, Backend& backend,
                                      std::uint64_t seed = kDemoSeed);

}  // namespace hs
