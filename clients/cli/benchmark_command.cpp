// `heartstream benchmark`: what the FP8 guide's `optimize_fp8.py --benchmark` promises, measured:
// one song of a fixed prompt per precision through the generate command's pipeline
// (song_pipeline.h, streaming decode), written as benchmark_output[_<precision>].mp3, with
// benchmark_results[_<precision>].json (the guide's five keys, same names, plus what they leave out)
// and quantization_config.json; several precisions also print a table side by side.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clients/cli/commands.h"
#include "clients/cli/json_file.h"
#include "clients/cli/quantization_config.h"
#include "clients/cli/run_report.h"
#include "clients/cli/song_pipeline.h"
#include "engine/core/error.h"
#include "engine/text/prompt.h"

namespace hs::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// The fixed prompt, so that runs on different machines and commits compare.
constexpr std::string_view kDefaultTags = "pop, piano, upbeat, female vocals";
constexpr std::string_view kDefaultLyrics =
    "[Verse]\nMorning light on the window pane\nI hum along to the falling rain\n"
    "[Chorus]\nSing it loud, sing it slow\nEvery road leads home, I know\n";
constexpr std::uint64_t kDefaultSeed = 42;
constexpr double kBytesPerGib = 1024.0 * 1024.0 * 1024.0;
constexpr std::string_view kTorchMemoryUnit = "GiB (2^30 bytes), as torch.cuda.memory_allocated() / 1024**3";

struct BenchmarkOptions {
  std::string model_path;                    // folder with HeartMuLa-oss-<version>/, HeartCodec-oss/, ...
  std::string version = "3B";                // HeartMuLa-oss-<version>
  std::string device = "cuda";               // cpu | cuda: both models (unless --codec_device)
  std::string precision = "fp8";             // fp32 | bf16 | fp8 | all
  std::optional<std::string> codec_device;   // cpu spares a small card's memory
  std::int64_t max_audio_length_ms = 10000;  // the guide's default song length
  std::string out = ".";                     // folder receiving the files
  std::string tags{kDefaultTags};
  std::string lyrics{kDefaultLyrics};
  std::uint64_t seed = kDefaultSeed;
};

// The first line a shell command prints (empty when it fails or prints nothing).
std::string first_line_of(const char* command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command, "r"), ::pclose);
  std::array<char, 256> buf{};
  if (!pipe || !std::fgets(buf.data(), buf.size(), pipe.get())) return {};
  std::string line = buf.data();
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

// "name, compute capability" of the first GPU as nvidia-smi reports it; empty without nvidia-smi.
std::string gpu_description() {
  return first_line_of("nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>/dev/null");
}

std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// This process's peak resident memory (VmHWM) in bytes; 0 when /proc does not say.
double peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) * 1024.0;  // kB
  return 0;
}

std::vector<Precision> precisions_of(const std::string& text, Device device) {
  if (text != "all") return {parse_precision(text, "--precision")};
  if (device == Device::Cpu) {
    std::fprintf(stderr, "--precision all on the CPU: fp32 only (the CPU computes nothing else)\n");
    return {Precision::F32};
  }
  return {Precision::F32, Precision::BF16, Precision::FP8};
}

struct RunResult {
  Precision precision;
  json::object results;
  std::optional<json::object> quantization;  // fp8 runs
};

// One song at `precision`; OOM and other device errors get the advice the guide's users need.
constexpr BackendOptionNames kOptionNames{.device = "--device", .precision = "--precision",
                                         .codec_device = "--codec_device", .codec_precision = "--precision"};

BackendChoice choice_for(const BenchmarkOptions& o, Device device, Precision precision) {
  BackendChoice choice{.device = device, .precision = precision};
  choice.device_index = parse_device(o.device, kOptionNames.device).index;
  if (o.codec_device) choice.set_codec_device(parse_device(*o.codec_device, kOptionNames.codec_device));
  return choice;
}

RunResult run_one(const BenchmarkOptions& o, Device device, Precision precision, const fs::path& mp3) {
  const BackendOptionNames& names = kOptionNames;
  const BackendChoice choice = choice_for(o, device, precision);
  std::fprintf(stderr, "benchmark: %s on %s, %lld ms of audio → %s\n", std::string(precision_name(precision)).c_str(),
               std::string(device_name(device)).c_str(), static_cast<long long>(o.max_audio_length_ms),
               mp3.string().c_str());
  try {
    const auto models = load_song_models(choice, names, o.model_path, o.version, true);
    const SongRun run = run_song(*models,
                                 {o.tags, o.lyrics, o.max_audio_length_ms,
                                  {.temperature = 1.0f, .topk = 50, .cfg_scale = 1.5f}, o.seed},
                                 {{}, mp3, true});
    const ModelBackends& b = models->backends;
    const double lm_peak = static_cast<double>(b.lm->peak_allocated_bytes());
    const double codec_peak = static_cast<double>(b.codec->peak_allocated_bytes());
    const bool on_gpu = lm_peak + codec_peak > 0;
    const double memory = on_gpu ? lm_peak + codec_peak : peak_rss_bytes();
    const std::string gpu = device == Device::Cuda ? gpu_description() : std::string();
    const std::string commit = current_commit();
    json::object r{
        {"generation_time_seconds", run.wall_s},
        {"audio_length_seconds", run.audio_s},
        {"rtf", run.audio_s > 0 ? json::value(run.wall_s / run.audio_s) : json::value(nullptr)},
        {"memory_allocated_gb", memory / kBytesPerGib},
        {"memory_reserved_gb", memory / kBytesPerGib},
        {"memory_unit", kTorchMemoryUnit},
        {"memory_measure",
         on_gpu ? "peak device memory of heartstream's own allocations (language model + codec backends); it "
                  "allocates with cudaMalloc and keeps no cache, so reserved = allocated (the CUDA context is in "
                  "neither)"
                : "peak resident set size of the process (VmHWM: the CPU has no device memory; allocated = "
                  "reserved = peak RSS)"},
        {"ms_per_frame", run.frames > 0 ? json::value(1000.0 * run.wall_s / static_cast<double>(run.frames))
                                        : json::value(nullptr)},
        {"frame_ms", kFrameMs},
        {"time_to_first_audio_seconds",
         run.first_audio_s ? json::value(*run.first_audio_s) : json::value(nullptr)},
        {"peak_device_memory_gb",
         on_gpu ? json::value(json::object{{"language_model", lm_peak / kBytesPerGib},
                                           {"codec", codec_peak / kBytesPerGib},
                                           {"total", (lm_peak + codec_peak) / kBytesPerGib}})
                : json::value(nullptr)},
        {"precision", precision_name(b.lm_precision)},
        {"codec_precision", precision_name(b.codec_precision)},
        {"device", device_name(device)},
        {"codec_device", device_name(choice.codec_device_or_default())},
        {"device_name", device == Device::Cuda ? (gpu.empty() ? "unknown GPU (no nvidia-smi)" : gpu) : cpu_description()},
        {"prompt_tokens", run.prompt_rows},
        {"frames", run.frames},
        {"stop_reason", stop_reason_name(run.reason)},
        {"max_audio_length_ms", o.max_audio_length_ms},
        {"decode", "streaming (the codec decodes while the language model generates)"},
        {"load_seconds", json::object{{"language_model", models->lm_load.load_s}, {"codec", models->codec_load.load_s}}},
        {"seed", o.seed},
        {"tags", o.tags},
        {"lyrics", o.lyrics},
        {"output", mp3.filename().string()},
        {"commit", commit.empty() ? json::value(nullptr) : json::value(commit)},
        {"tool", tool_version()},
    };
    RunResult result{precision, std::move(r), std::nullopt};
    std::vector<QuantizedModel> quantized;
    if (models->lm_load.cache.outcome != WeightCacheOutcome::Off)
      quantized.push_back({"language_model", models->paths.mula_dir, models->lm_load.cache});
    if (models->codec_load.cache.outcome != WeightCacheOutcome::Off)
      quantized.push_back({"codec", models->paths.codec_dir, models->codec_load.cache});
    if (!quantized.empty())
      result.quantization = quantization_config(quantized, o.model_path);
    else if (b.lm_precision == Precision::FP8 || b.codec_precision == Precision::FP8)
      result.quantization = json::object{{"tool", tool_version()},
                                         {"precision", "fp8"},
                                         {"scheme", kFp8CacheScheme},
                                         {"note", "the weight cache is switched off (" + std::string(kWeightCacheEnvVar) +
                                                      "=0): the linears were quantized at load and are not listed"}};
    return result;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.find("out of memory") != std::string::npos)
      throw InvalidArgument("out of device memory at " + std::string(precision_name(precision)) + " (" + what +
                            "); try a shorter song (--max_audio_length_ms), --precision fp8, or the codec on the "
                            "CPU (--codec_device cpu)");
    throw;
  }
}

std::string cell(const json::object& r, std::string_view key, const char* format) {
  const json::value* v = r.if_contains(key);
  if (!v || v->is_null()) return "-";
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), format, v->to_number<double>());
  return buf.data();
}

void print_table(const std::vector<RunResult>& runs) {
  const std::array<std::array<const char*, 3>, 7> rows{{{"generation time (s)", "generation_time_seconds", "%.2f"},
                                                        {"audio length (s)", "audio_length_seconds", "%.2f"},
                                                        {"real-time factor", "rtf", "%.3f"},
                                                        {"ms per frame", "ms_per_frame", "%.1f"},
                                                        {"time to first audio (s)", "time_to_first_audio_seconds", "%.3f"},
                                                        {"memory allocated (GiB)", "memory_allocated_gb", "%.2f"},
                                                        {"prompt tokens", "prompt_tokens", "%.0f"}}};
  std::printf("%-26s", "");
  for (const RunResult& run : runs) std::printf("%12s", std::string(precision_name(run.precision)).c_str());
  std::printf("\n");
  for (const auto& [label, key, format] : rows) {
    std::printf("%-26s", label);
    for (const RunResult& run : runs) std::printf("%12s", cell(run.results, key, format).c_str());
    std::printf("\n");
  }
}

void run_benchmark(const BenchmarkOptions& o) {
  const Device device = parse_device(o.device, "--device").device;
  const std::vector<Precision> precisions = precisions_of(o.precision, device);
  if (o.max_audio_length_ms <= 0) throw InvalidArgument("--max_audio_length_ms must be positive");
  for (Precision p : precisions) check_backend_choice(choice_for(o, device, p), kOptionNames);
  const std::string tags = text_or_file("--tags", o.tags, kMaxTagsBytes);
  const std::string lyrics = text_or_file("--lyrics", o.lyrics, kMaxLyricsBytes);
  const fs::path out(o.out);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) throw InvalidArgument("--out '" + o.out + "': cannot create the folder");
  BenchmarkOptions with_text = o;
  with_text.tags = tags;
  with_text.lyrics = lyrics;
  const bool several = precisions.size() > 1;
  std::vector<RunResult> runs;
  for (Precision p : precisions) {
    const std::string suffix = several ? "_" + std::string(precision_name(p)) : std::string();
    runs.push_back(run_one(with_text, device, p, out / ("benchmark_output" + suffix + ".mp3")));
    write_json_file(out / ("benchmark_results" + suffix + ".json"), runs.back().results);
  }
  if (several) {
    json::array all;
    for (const RunResult& run : runs) all.push_back(run.results);
    write_json_file(out / "benchmark_results.json", json::object{{"runs", std::move(all)}});
    print_table(runs);
  }
  const RunResult* quantized = nullptr;
  for (const RunResult& run : runs) quantized = run.quantization ? &run : quantized;
  write_json_file(out / "quantization_config.json", quantized ? json::value(*quantized->quantization)
                                                              : json::value(unquantized_config(precision_name(runs.front().precision))));
  for (const RunResult& run : runs)
    std::printf("%s: %.2f s for %.2f s of audio (RTF %s), %s GiB\n", std::string(precision_name(run.precision)).c_str(),
                run.results.at("generation_time_seconds").as_double(), run.results.at("audio_length_seconds").as_double(),
                cell(run.results, "rtf", "%.3f").c_str(), cell(run.results, "memory_allocated_gb", "%.2f").c_str());
  std::printf("wrote %s\n", out.string().c_str());
}

}  // namespace

void add_benchmark_command(CLI::App& app) {
  auto opt = std::make_shared<BenchmarkOptions>();
  CLI::App* cmd = app.add_subcommand(
      "benchmark", "One song of a fixed prompt per precision: benchmark_output.mp3, benchmark_results.json (the FP8 "
                   "guide's keys) and quantization_config.json");
  cmd->add_option("--model_path", opt->model_path, "Checkpoint folder (HeartMuLa-oss-<version>/, HeartCodec-oss/, ...)")
      ->required();
  cmd->add_option("--version", opt->version, "Model version: the folder HeartMuLa-oss-<version>")->capture_default_str();
  cmd->add_option("--device", opt->device, "Where both models run: cuda | cuda:N | cpu (the CPU computes fp32 only)")
      ->capture_default_str();
  cmd->add_option("--precision", opt->precision,
                  "Weights of both models: fp32 | bf16 | fp8 | all (every one the device computes, one song each)")
      ->capture_default_str();
  cmd->add_option("--codec_device", opt->codec_device,
                  "Where HeartCodec runs: cpu | cuda | cuda:N (default: --device)");
  cmd->add_option("--max_audio_length_ms", opt->max_audio_length_ms, "Length of each song")->capture_default_str();
  cmd->add_option("--out", opt->out, "Folder receiving the files (created when missing)")->capture_default_str();
  cmd->add_option("--tags", opt->tags, "Tags, or a file holding them (default: a fixed prompt, so runs compare)");
  cmd->add_option("--lyrics", opt->lyrics, "Lyrics, or a file holding them (default: a fixed two-part song)");
  cmd->add_option("--seed", opt->seed, "Seed of the sampler and the codec noise")->capture_default_str();
  cmd->callback([opt] { run_benchmark(*opt); });
}

}  // namespace hs::cli
