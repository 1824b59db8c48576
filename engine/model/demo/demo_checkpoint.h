// A random-weight checkpoint folder in the real layout (REFERENCE.md "Checkpoint layout"), so the
// whole pipeline can be tried (or, at the released shapes, timed) without downloading weights:
//   DIR/HeartMuLa-oss-<version>/{config.json, model.safetensors}  bf16
//   DIR/HeartCodec-oss/{config.json, model.safetensors}           fp32
//   DIR/gen_config.json, DIR/tokenizer.json                       a toy byte-level BPE tokenizer
// Two sizes (DemoShapes): `demo`, small enough to run faster than real time on a CPU (llama-demo +
// llama-demo-dec, a small DiT and scalar decoder), and `3B`, the released HeartMuLa-oss-3B and
// HeartCodec shapes, names and dtypes (~14 GB). Its audio is noise-like: the weights are random.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "engine/core/backend.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/model/demo/demo_tokenizer.h"

namespace hs {

// `--version demo` selects HeartMuLa-oss-demo.
inline constexpr std::string_view kDemoVersion = "demo";
inline constexpr std::uint64_t kDemoSeed = 1234;

// The sizes write_demo_checkpoint can write; each one's name is also its `--version`.
enum class DemoShapes : std::uint8_t { Demo, Released3B };
inline constexpr std::array<std::string_view, 2> kDemoShapesNames{kDemoVersion, "3B"};  // by enum value
// InvalidArgument naming `name` and listing the allowed names for anything else.
DemoShapes parse_demo_shapes(std::string_view name);

// What write_demo_checkpoint writes for a size, short of the weights.
struct DemoCheckpointPlan {
  std::string version;  // HeartMuLa-oss-<version>
  MulaConfig mula;
  CodecConfig codec;
  GenConfig gen;  // text BOS / EOS are the tokenizer's
  DemoTokenizer tokenizer;
  // The codec's output level is set from a decode of this many random code frames (on the backend
  // write_demo_checkpoint gets).
  std::int64_t calibration_code_frames = 0;
};
DemoCheckpointPlan demo_checkpoint_plan(DemoShapes shapes);

// Receives one line of progress (a file written, each GB of a large one).
using DemoProgress = std::function<void(const std::string& line)>;

// Configurations of the demo model. The LM's audio vocabulary is the real one (8197: 8192 codes,
// then EOS and other specials); its text vocabulary is the demo tokenizer's.
MulaConfig demo_mula_config(std::int64_t text_vocab_size);
CodecConfig demo_codec_config();

// Writes a HeartMuLa folder of seeded random weights for `config` into `dir` (created if needed):
// config.json and model.safetensors (bf16, random_mula_weights with `code_count` decodable ids).
// The demo checkpoint's LM is one; benchmarks write others of the released flavors' shapes.
// Tensors are made and written one at a time (the released 3B LM is 7.9 GB). Error naming the path
// when a file cannot be written.
void write_random_mula_folder(const std::filesystem::path& dir, const MulaConfig& config, std::int64_t code_count,
                              std::uint64_t seed, const DemoProgress& progress = {});

// Writes the checkpoint of `shapes` into `dir` (created if needed; files of the same names
// replaced, anything else left alone), calibrating the codec's output level on `backend`, and
// returns its resolved paths. One tensor is held at a time while writing; the calibration loads
// the written codec. Error naming the path when a file cannot be written.
CheckpointPaths write_demo_checkpoint(const std::filesystem::path& dir, Backend& backend,
                                      std::uint64_t seed = kDemoSeed, DemoShapes shapes = DemoShapes::Demo,
                                      const DemoProgress& progress = {});

}  // namespace hs
