// `heartstream generate`: tags + lyrics → HeartMuLa frames (codec tokens), written as a
// safetensors file. Options are named as the reference's run_music_generation.py.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "clients/cli/commands.h"
#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/io/safetensors.h"
#include "engine/model/lm/mula_model.h"
#include "engine/pipeline/generator.h"
#include "engine/text/prompt.h"
#include "engine/text/tokenizer.h"

namespace hs::cli {
namespace {

struct GenerateOptions {
  std::string model_path;                     // folder with HeartMuLa-oss-<version>/, gen_config.json, tokenizer.json
  std::string version = "3B";                 // HeartMuLa-oss-<version>
  std::string device = "cpu";                 // cpu | cuda
  std::string tags;                           // text, or a path to a file holding it
  std::string lyrics;                         // text, or a path to a file holding it
  std::int64_t max_audio_length_ms = 240000;  // the reference CLI's default
  int topk = 50;
  float temperature = 1.0f;
  float cfg_scale = 1.5f;
  std::optional<std::uint64_t> seed;          // random (and printed) when absent
  std::string tokens_out;                     // safetensors file receiving `frames` I32 [8, T]
};

using FrameSink = std::function<void(const Frame&)>;

// Off a terminal, progress is one line per this many frames (10 s of audio).
constexpr std::int64_t kProgressEveryFrames = 125;

// The argument itself, or the contents of the file it names.
std::string text_or_file(const std::string& arg) {
  std::error_code ec;
  if (arg.empty() || !std::filesystem::is_regular_file(arg, ec)) return arg;
  std::ifstream in(arg, std::ios::binary);
  if (!in) throw InvalidArgument("cannot read '" + arg + "'");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Pulls every frame into each sink, with progress (frames, ms per frame) on stderr.
StopReason run_frames(Generator& generator, const std::vector<FrameSink>& sinks) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto first_frame = start;
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  const auto reason = generator.run([&](const Frame& frame) {
    for (const auto& sink : sinks) sink(frame);
    const auto now = Clock::now();
    const std::int64_t n = generator.frames_emitted();
    if (n == 1) first_frame = now;
    const double ms_per_frame =
        n > 1 ? std::chrono::duration<double, std::milli>(now - first_frame).count() / static_cast<double>(n - 1) : 0.0;
    if (!terminal && n % kProgressEveryFrames != 0) return;
    std::fprintf(stderr, "%sframe %lld/%lld  %.1f ms/frame%s", terminal ? "\r" : "", static_cast<long long>(n),
                 static_cast<long long>(generator.max_frames()), ms_per_frame, terminal ? "" : "\n");
  });
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  const double first_s = std::chrono::duration<double>(first_frame - start).count();
  std::fprintf(stderr, "%s%lld frames (%.2f s of audio) in %.2f s, first frame after %.2f s; stopped: %s\n",
               terminal ? "\n" : "", static_cast<long long>(generator.frames_emitted()),
               static_cast<double>(generator.frames_emitted() * kFrameMs) / 1000.0, total_s, first_s,
               std::string(stop_reason_name(reason)).c_str());
  return reason;
}

Tensor frames_tensor(const std::vector<Frame>& frames) {
  const auto count = static_cast<std::int64_t>(frames.size());
  Tensor t = Tensor::zeros({kNumCodebooks, count}, DType::I32);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t k = 0; k < kNumCodebooks; ++k) t.data<std::int32_t>()[k * count + i] = frames[i][k];
  return t;
}

void run_generate(const GenerateOptions& o) {
  if (o.device == "cuda")
    throw InvalidArgument("--device cuda: the CUDA backend is not built yet; use --device cpu");
  if (o.device != "cpu") throw InvalidArgument("--device '" + o.device + "' is not one of cpu, cuda");
  if (o.tokens_out.empty()) throw InvalidArgument("nothing to write: pass --tokens-out FILE.safetensors");
  const CheckpointPaths paths = resolve_checkpoint(o.model_path, o.version, /*need_codec=*/false);
  const GenConfig gen = read_gen_config(paths.gen_config);
  const Tokenizer tokenizer = Tokenizer::load(paths.tokenizer);
  CpuBackend backend;
  const auto model = MulaModel::load(backend, paths.mula_dir);
  const std::uint64_t seed = o.seed ? *o.seed : std::random_device{}();
  if (!o.seed) std::fprintf(stderr, "seed %llu\n", static_cast<unsigned long long>(seed));
  GenerationRequest request{build_prompt(tokenizer, gen, text_or_file(o.tags), text_or_file(o.lyrics), o.cfg_scale),
                            o.max_audio_length_ms,
                            {.temperature = o.temperature, .topk = o.topk, .cfg_scale = o.cfg_scale},
                            seed};
  Generator generator(model, gen, request);
  std::vector<Frame> frames;
  const StopReason reason = run_frames(generator, {[&](const Frame& f) { frames.push_back(f); }});
  write_safetensors(o.tokens_out, {{"frames", frames_tensor(frames)}},
                    {{"seed", std::to_string(seed)}, {"stop_reason", std::string(stop_reason_name(reason))}});
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto opt = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate music tokens from tags and lyrics (HeartMuLa)");
  cmd->add_option("--model_path", opt->model_path, "Checkpoint folder (HeartMuLa-oss-<version>/, gen_config.json, tokenizer.json)")
      ->required();
  cmd->add_option("--version", opt->version, "Model version: the folder HeartMuLa-oss-<version>")->capture_default_str();
  cmd->add_option("--device", opt->device, "cpu | cuda")->capture_default_str();
  cmd->add_option("--tags", opt->tags, "Tags, or a file holding them")->required();
  cmd->add_option("--lyrics", opt->lyrics, "Lyrics, or a file holding them")->required();
  cmd->add_option("--max_audio_length_ms", opt->max_audio_length_ms, "Maximum audio length")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--topk", opt->topk, "Keep the k most likely tokens")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", opt->temperature, "Sampling temperature (<= 0: greedy)")->capture_default_str();
  cmd->add_option("--cfg_scale", opt->cfg_scale, "Classifier-free guidance scale (1: off)")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Sampler seed (random when absent)");
  cmd->add_option("--tokens-out", opt->tokens_out, "Write the frames (I32 [8, T] 'frames') to this .safetensors file");
  cmd->callback([opt] { run_generate(*opt); });
}

}  // namespace hs::cli
