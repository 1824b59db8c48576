// `heartstream make-demo-model DIR`: writes a small random-weight checkpoint in the real layout, so
// generate / decode / the daemon can be tried without downloading the HeartMuLa weights.
#include <iostream>
#include <memory>
#include <string>

#include "clients/cli/commands.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"

namespace hs::cli {
namespace {

struct MakeDemoModelOptions {
  std::string dir;               // checkpoint folder to write (created if needed)
  std::uint64_t seed = kDemoSeed;  // same seed, same files
};

void run_make_demo_model(const MakeDemoModelOptions& o, std::ostream& out) {
  CpuBackend backend;
  const CheckpointPaths paths = write_demo_checkpoint(o.dir, backend, o.seed);
  const std::string version(kDemoVersion);
  out << "Wrote a demo checkpoint (random weights, seed " << o.seed << ") to " << o.dir << ":\n"
      << "  " << paths.mula_dir.string() << "\n  " << paths.codec_dir.string() << "\n  "
      << paths.gen_config.string() << "\n  " << paths.tokenizer.string() << "\n\n"
      << "NOTE: a demo model makes noise-like audio, not music: its weights are random. It is\n"
      << "small enough to run faster than real time on a CPU and exercises the whole pipeline.\n"
      << "Its backbone holds 8192 positions: songs up to the default --max_audio_length_ms 240000.\n\n"
      << "Try it (a 30 s song to WAV, decoded after generation; then streamed to Opus as it is made):\n"
      << "  heartstream generate --model_path " << o.dir << " --version " << version
      << " --tags 'piano,happy' --lyrics '[Verse] la la la' --max_audio_length_ms 30000 --seed 1 --save_path demo.wav\n"
      << "  heartstream generate --model_path " << o.dir << " --version " << version
      << " --tags 'piano,happy' --lyrics '[Verse] la la la' --seed 1 --stream --save_path demo.opus\n\n"
      << "For music, download the HeartMuLa checkpoint and point at it instead:\n"
      << "  --model_path /path/to/ckpt --version 3B\n";
}

}  // namespace

void add_make_demo_model_command(CLI::App& app) {
  auto opt = std::make_shared<MakeDemoModelOptions>();
  CLI::App* cmd = app.add_subcommand(
      "make-demo-model", "Write a small random-weight checkpoint (noise-like audio) for trying the pipeline");
  cmd->add_option("dir", opt->dir, "Folder to write the checkpoint into")->required();
  cmd->add_option("--seed", opt->seed, "Seed of the random weights")->capture_default_str();
  cmd->callback([opt] { run_make_demo_model(*opt, std::cout); });
}

}  // namespace hs::cli
