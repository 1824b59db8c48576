// `heartstream make-demo-model DIR [--shapes demo|3B]`: writes a random-weight checkpoint in the real
// layout, so generate / decode / the daemon can be tried (demo: small) or the real pipeline timed
// (3B: the released shapes) without downloading the HeartMuLa weights.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "clients/cli/commands.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"

namespace hs::cli {
namespace {

struct MakeDemoModelOptions {
  std::string dir;                           // checkpoint folder to write (created if needed)
  std::uint64_t seed = kDemoSeed;            // same seed, same files
  std::string shapes{kDemoVersion};          // demo | 3B (parse_demo_shapes)
};

// `s` as one shell word: as it is when it holds only safe characters, else in single quotes.
std::string shell_word(const std::string& s) {
  if (s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+") == std::string::npos)
    return s;
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// How the user's shell runs this binary: `heartstream` when the first `heartstream` on the PATH is
// this very file, else its absolute path (a fresh build is not on the PATH; README "Install").
std::string self_command() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::canonical("/proc/self/exe", ec);
  if (ec) return "heartstream";
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    const fs::path dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const fs::path candidate = dir / "heartstream";
    if (::access(candidate.c_str(), X_OK) != 0) continue;
    if (fs::equivalent(candidate, self, ec)) return "heartstream";
    break;  // the shell would run that other `heartstream`
  }
  return shell_word(self.string());
}

// The released shapes: for timing the real pipeline, not for trying it on a CPU.
void print_released_notes(const MakeDemoModelOptions& o, const std::string& version, std::ostream& out) {
  out << "NOTE: random weights at the released HeartMuLa-oss-3B and HeartCodec shapes, names and\n"
      << "dtypes: noise-like audio at the real cost, for timing the pipeline without downloads. The\n"
      << "tokenizer is a toy one (bytes and a few merges; <|begin_of_text|> / <|end_of_text|> at Llama 3's\n"
      << "ids 128000 / 128001, as in gen_config.json), so prompts are longer than the real tokenizer's.\n\n"
      << "Time the language model on a GPU (30 s of frames; --save_path song.wav also decodes them):\n"
      << "  " << self_command() << " generate --model_path " << shell_word(o.dir) << " --version " << version
      << " --device cuda --precision bf16 --tags 'piano,happy' --lyrics '[Verse] la la la' --max_audio_length_ms 30000"
      << " --seed 1 --tokens-out tokens.safetensors\n";
}

void print_demo_notes(const MakeDemoModelOptions& o, const std::string& version, std::ostream& out) {
  out << "NOTE: a demo model makes noise-like audio, not music: its weights are random and its\n"
      << "tokenizer is a toy one. It is small enough to run faster than real time on a CPU and\n"
      << "exercises the whole pipeline.\n"
      << "Its backbone holds 8192 positions: songs up to the default --max_audio_length_ms 240000.\n\n"
      << "Try it (a 30 s song to WAV, decoded after generation; then streamed to Opus as it is made):\n"
      << "  " << self_command() << " generate --model_path " << shell_word(o.dir) << " --version " << version
      << " --tags 'piano,happy' --lyrics '[Verse] la la la' --max_audio_length_ms 30000 --seed 1 --save_path demo.wav\n"
      << "  " << self_command() << " generate --model_path " << shell_word(o.dir) << " --version " << version
      << " --tags 'piano,happy' --lyrics '[Verse] la la la' --seed 1 --stream --save_path demo.opus\n\n"
      << "For music, download the HeartMuLa checkpoint and point at it instead:\n"
      << "  --model_path /path/to/ckpt --version 3B\n";
}

void run_make_demo_model(const MakeDemoModelOptions& o, std::ostream& out) {
  const DemoShapes shapes = parse_demo_shapes(o.shapes);
  CpuBackend backend;
  const auto start = std::chrono::steady_clock::now();
  const CheckpointPaths paths =
      write_demo_checkpoint(o.dir, backend, o.seed, shapes, [&out](const std::string& line) { out << line << std::endl; });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string version = demo_checkpoint_plan(shapes).version;
  out << "Wrote a demo checkpoint (random weights, shapes " << o.shapes << ", seed " << o.seed << ") to " << o.dir
      << " in " << static_cast<int>(seconds) << " s:\n"
      << "  " << paths.mula_dir.string() << "\n  " << paths.codec_dir.string() << "\n  "
      << paths.gen_config.string() << "\n  " << paths.tokenizer.string() << "\n\n";
  if (shapes == DemoShapes::Released3B)
    print_released_notes(o, version, out);
  else
    print_demo_notes(o, version, out);
}

}  // namespace

void add_make_demo_model_command(CLI::App& app) {
  auto opt = std::make_shared<MakeDemoModelOptions>();
  CLI::App* cmd = app.add_subcommand(
      "make-demo-model", "Write a random-weight checkpoint (noise-like audio) for trying or timing the pipeline");
  cmd->add_option("dir", opt->dir, "Folder to write the checkpoint into")->required();
  cmd->add_option("--seed", opt->seed, "Seed of the random weights")->capture_default_str();
  cmd->add_option("--shapes", opt->shapes,
                  "demo: small, runs faster than real time on a CPU (--version demo); 3B: the released "
                  "HeartMuLa-oss-3B + HeartCodec shapes, ~14 GB on disk, written in minutes (--version 3B)")
      ->capture_default_str();
  cmd->callback([opt] { run_make_demo_model(*opt, std::cout); });
}

}  // namespace hs::cli
