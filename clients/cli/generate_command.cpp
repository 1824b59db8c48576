// `heartstream generate`: tags + lyrics → HeartMuLa frames (codec tokens) → a token file and/or an
// audio file, decoded offline or streamed while generating (song_output.h). Options are named as
// the reference's run_music_generation.py.
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "clients/cli/commands.h"
#include "clients/cli/song_pipeline.h"
#include "engine/backends/backend_factory.h"
#include "engine/core/device_name.h"
#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/pipeline/streaming_decoder.h"
#include "engine/pipeline/vram_plan.h"
#include "engine/text/prompt.h"
#include "engine/text/tokenizer.h"

namespace hs::cli {
namespace {

struct GenerateOptions {
  std::string model_path;                     // folder with HeartMuLa-oss-<version>/, gen_config.json, tokenizer.json
  std::string version = "3B";                 // HeartMuLa-oss-<version>
  std::string device = "cpu";                 // cpu | cuda | cuda:N: where the LM (and by default the codec) runs
  std::string precision = "fp32";             // fp32 | bf16 | fp8 | nf4 | int4: the LM's weights (on cuda: planned unless given)
  std::optional<std::string> codec_device;    // cpu | cuda | cuda:N; absent: --device
  std::optional<std::string> codec_precision;  // fp32 | bf16 | fp8; absent: as BackendChoice says
  std::string tags;                           // text, or a path to a file holding it
  std::string lyrics;                         // text, or a path to a file holding it
  std::int64_t max_audio_length_ms = 240000;  // the reference CLI's default
  int topk = 50;
  float temperature = 1.0f;
  float cfg_scale = 1.5f;
  std::optional<std::uint64_t> seed;          // random (and printed) when absent
  std::string tokens_out;                     // safetensors file receiving `frames` I32 [8, T]
  std::string save_path;                      // audio file: .wav | .flac | .opus | .ogg | .mp3 | .safetensors
  bool stream = false;                        // decode while generating (the file grows) instead of after
  std::int64_t chunk_frames = kSoloChunkFrames;  // --stream's chunk length
  std::string kv_cache = "auto";              // auto | fp8: the LM's KV cache
  std::optional<std::string> vram_budget_gb;  // GB, "free" or "off"; absent: "free" on cuda, "off" on cpu
  bool precision_given = false, kv_cache_given = false;
};

constexpr std::string_view kBudgetOption = "--vram_budget_gb";

// Whether to plan: --vram_budget_gb unless 'off'; without it, on a GPU (its free memory).
bool plans(const GenerateOptions& o, const BackendChoice& choice) {
  if (!o.vram_budget_gb) return choice.device == Device::Cuda;
  if (*o.vram_budget_gb == "off") return false;
  if (choice.device != Device::Cuda)
    throw InvalidArgument(std::string(kBudgetOption) + " plans device memory: it needs --device cuda");
  return true;
}

// The plan for the checkpoint's configs within the budget, keeping what the user set (--precision,
// which also sets the codec's on the GPU, --codec_device, --codec_precision, --kv_cache), printed;
// the choice then loads under that budget.
void plan_within_budget(const GenerateOptions& o, const BackendOptionNames& names, const std::string& tags,
                        const std::string& lyrics, BackendChoice& choice, KvCache& kv_cache) {
  check_backend_choice(choice, names);
  const std::string budget = o.vram_budget_gb.value_or("free");
  double gb = 0;
  if (budget == "free") {
    gb = static_cast<double>(cuda_free_bytes(choice.device_index)) / 1e9;
    if (!o.vram_budget_gb)
      std::fprintf(stderr, "%s not given: planning within %s's free memory (%.2f GB; '%s off' loads without a plan)\n",
                   kBudgetOption.data(), device_label(Device::Cuda, choice.device_index).c_str(), gb,
                   kBudgetOption.data());
  } else {
    try {
      std::size_t used = 0;
      gb = std::stod(budget, &used);
      if (used != budget.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      throw InvalidArgument(std::string(kBudgetOption) + " '" + budget + "': a number of GB (6, 8, 12, ...), 'free' or 'off'");
    }
  }
  const CheckpointPaths paths = resolve_checkpoint(o.model_path, o.version, /*need_codec=*/true);
  const Prompt prompt = build_prompt(Tokenizer::load(paths.tokenizer), read_gen_config(paths.gen_config), tags, lyrics,
                                     o.cfg_scale);
  VramRequest request{.budget_bytes = parse_vram_budget_gb(gb, kBudgetOption), .song_ms = o.max_audio_length_ms,
                      .prompt_tokens = prompt.length()};
  request.cfg = o.cfg_scale != 1.0f;
  if (o.stream) request.chunk_frames = o.chunk_frames;
  request.fp8_widened = cuda_fp8_widened(choice.device_index);
  if (o.precision_given) request.precision = choice.precision;
  request.codec_device = choice.codec_device;
  request.codec_precision = choice.codec_precision;
  if (o.kv_cache_given) request.kv_cache = kv_cache;
  const VramPlan plan =
      plan_vram(read_mula_config(paths.mula_dir / "config.json"), read_codec_config(paths.codec_dir / "config.json"), request);
  std::fprintf(stderr, "%s", describe(plan).c_str());
  choice.precision = plan.precision;
  if (!choice.codec_device) choice.codec_device_index = choice.device_index;  // the plan names the device, not the GPU
  choice.codec_device = plan.codec_device;
  choice.codec_precision = plan.codec_precision;
  choice.vram_budget_bytes = request.budget_bytes;
  kv_cache = plan.kv_cache;
}

void run_generate(const GenerateOptions& o) {
  const BackendOptionNames names{.device = "--device", .precision = "--precision", .codec_device = "--codec_device",
                                 .codec_precision = "--codec_precision"};
  BackendChoice choice;
  choice.set_device(parse_device(o.device, names.device));
  choice.precision = parse_precision(o.precision, names.precision);
  if (o.codec_device) choice.set_codec_device(parse_device(*o.codec_device, names.codec_device));
  if (o.codec_precision) choice.codec_precision = parse_precision(*o.codec_precision, names.codec_precision);
  if (o.tokens_out.empty() && o.save_path.empty())
    throw InvalidArgument("nothing to write: pass --save_path FILE (.wav, .flac, .opus, .ogg, .mp3, .safetensors) "
                          "and/or --tokens-out FILE.safetensors");
  if (o.stream && o.save_path.empty()) throw InvalidArgument("--stream needs --save_path");
  KvCache kv_cache = parse_kv_cache(o.kv_cache, "--kv_cache");
  const std::string tags = text_or_file("--tags", o.tags, kMaxTagsBytes);
  const std::string lyrics = text_or_file("--lyrics", o.lyrics, kMaxLyricsBytes);
  if (plans(o, choice)) plan_within_budget(o, names, tags, lyrics, choice, kv_cache);
  const bool need_codec = !o.save_path.empty();
  const auto models = load_song_models(choice, names, o.model_path, o.version, need_codec);
  const std::uint64_t seed = o.seed ? *o.seed : std::random_device{}();
  if (!o.seed) std::fprintf(stderr, "seed %llu\n", static_cast<unsigned long long>(seed));
  run_song(*models,
           {tags, lyrics, o.max_audio_length_ms,
            {.temperature = o.temperature, .topk = o.topk, .cfg_scale = o.cfg_scale}, seed, kv_cache},
           {o.tokens_out, o.save_path, o.stream, o.chunk_frames});
  const ModelBackends& backends = models->backends;
  constexpr double kGb = 1e9;
  const std::size_t lm_peak = backends.lm->peak_allocated_bytes(), codec_peak = backends.codec->peak_allocated_bytes();
  if (lm_peak + codec_peak > 0)
    std::fprintf(stderr, "peak device memory: language model %.2f GB + codec %.2f GB = %.2f GB (each backend's own allocations)\n",
                 static_cast<double>(lm_peak) / kGb, static_cast<double>(codec_peak) / kGb,
                 static_cast<double>(lm_peak + codec_peak) / kGb);
  if (backends.budget)
    std::fprintf(stderr, "peak within the budget: %.3f of %.3f GB (both models at once)\n",
                 static_cast<double>(backends.budget->peak()) / kGb, static_cast<double>(backends.budget->limit()) / kGb);
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto opt = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate a song from tags and lyrics (HeartMuLa → HeartCodec)");
  cmd->add_option("--model_path", opt->model_path, "Checkpoint folder (HeartMuLa-oss-<version>/, gen_config.json, tokenizer.json)")
      ->required();
  cmd->add_option("--version", opt->version, "Model version: the folder HeartMuLa-oss-<version>")->capture_default_str();
  cmd->add_option("--device", opt->device,
                  "Where the language model runs, and the codec unless --codec_device: cpu | cuda | cuda:N")
      ->capture_default_str();
  cmd->add_option("--precision", opt->precision,
                  "Language-model weights, and the codec's unless --codec_precision: fp32 (the reference; the CPU "
                  "computes only this) | bf16 | fp8 (cuda) | nf4 | int4 (4-bit, experimental, cuda; the codec then "
                  "fp8). On cuda, when not given, --vram_budget_gb's plan picks it (bf16 where it fits, else fp8; "
                  "fp32 with --vram_budget_gb off)")
      ->capture_default_str();
  cmd->add_option("--codec_device", opt->codec_device,
                  "Where HeartCodec runs: cpu | cuda | cuda:N (default: --device; cpu spares a small card's memory)");
  cmd->add_option("--codec_precision", opt->codec_precision,
                  "HeartCodec's weights: fp32 | bf16 | fp8 (bf16 / fp8 need cuda; default: --precision when on "
                  "--device, else fp32 on cpu and fp8 on cuda; on cuda without --precision, the plan's)");
  cmd->add_option("--kv_cache", opt->kv_cache,
                  "How the LM keeps its keys and values: auto (bf16 on cuda at bf16/fp8, else fp32) | fp8 (E4M3 with a "
                  "scale per vector: about half the memory of bf16)")
      ->capture_default_str();
  cmd->add_option("--tags", opt->tags, "Tags, or a file holding them (one line with a '/' or ending in .txt is a path)")
      ->required();
  cmd->add_option("--lyrics", opt->lyrics,
                  "Lyrics, or a file holding them (one line with a '/' or ending in .txt is a path)")
      ->required();
  cmd->add_option("--max_audio_length_ms", opt->max_audio_length_ms, "Maximum audio length")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--topk", opt->topk, "Keep the k most likely tokens")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", opt->temperature, "Sampling temperature (<= 0: greedy)")->capture_default_str();
  cmd->add_option("--cfg_scale", opt->cfg_scale, "Classifier-free guidance scale (1: off)")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Seed of the sampler and the codec noise (random when absent)");
  cmd->add_option("--tokens-out", opt->tokens_out, "Write the frames (I32 [8, T] 'frames') to this .safetensors file");
  cmd->add_option("--save_path", opt->save_path, "Audio output: .wav, .flac, .opus, .ogg, .mp3 or .safetensors (F32 'wav')");
  cmd->add_flag("--stream", opt->stream,
                "Decode while generating (streaming codec): the file grows as frames come; reports time to first audio");
  cmd->add_option("--chunk_frames", opt->chunk_frames,
                  "With --stream: code frames (80 ms each) per codec chunk once the first ones have grown to it "
                  "(4, 4, 8, 16, 32, ...), as the daemon's streaming.chunk_frames (16 there). Longer chunks cost the "
                  "GPU less per second of audio; the first audio comes as early, each later chunk's further ahead of "
                  "its frames (chunk 32: 2.56 s)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, kMaxChunkFrames));
  cmd->add_option("--vram_budget_gb", opt->vram_budget_gb,
                  "Device memory for both models, in GB (10^9 bytes; the guide's cards: 6, 8, 12), 'free' (the GPU's "
                  "free memory; the default on cuda) or 'off' (no plan): plans the precisions, the codec's device "
                  "and the KV cache that the options above leave open, prints the plan, and holds every device "
                  "allocation within it (docs/vram.md)");
  cmd->callback([opt, cmd] {
    opt->precision_given = cmd->count("--precision") > 0;
    opt->kv_cache_given = cmd->count("--kv_cache") > 0;
    run_generate(*opt);
  });
}

}  // namespace hs::cli
