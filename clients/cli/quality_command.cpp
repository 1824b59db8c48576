// `heartstream quality`: what each weight precision costs, measured on one request. The reference
// precision (fp32, or bf16 when fp32 does not fit) generates the song; every other precision is
// teacher-forced on the same frames and its logits compared at every frame and codebook
// (quality/lm_quality.h); the codec decodes the same codes at each precision, and with --streaming
// in chunks (quality/codec_quality.h). Writes quality_report.json and quality_report.png into --out
// and prints a table. On the CPU, bf16 and fp8 weights are emulated in fp32 arithmetic
// (CpuBackend::load_linear), so the figures are the weight formats' own error.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "clients/cli/commands.h"
#include "clients/cli/quality/codec_quality.h"
#include "clients/cli/quality/lm_quality.h"
#include "clients/cli/quality/quality_png.h"
#include "clients/cli/quality/quality_report.h"
#include "engine/backends/backend_factory.h"
#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/text/prompt.h"
#include "engine/text/tokenizer.h"

namespace hs::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kReportName = "quality_report.json";
constexpr std::string_view kImageName = "quality_report.png";

struct QualityOptions {
  std::string model_path;                               // folder with HeartMuLa-oss-<version>/, HeartCodec-oss/, ...
  std::string version = "3B";                           // HeartMuLa-oss-<version>
  std::string device = "cpu";                           // cpu | cuda: both models
  std::string reference = "fp32";                       // what the others are measured against
  std::string kv_cache = "auto";                        // the measured precisions' LM KV cache
  std::vector<std::string> precisions{"bf16", "fp8"};   // measured against the reference (it may be one of them)
  std::string tags = "pop, piano";
  std::string lyrics = "[Verse]\nla la la";
  std::int64_t max_audio_length_ms = 10000;
  int topk = 50;
  float temperature = 1.0f;
  float cfg_scale = 1.5f;
  std::uint64_t seed = 1;                               // fixed: the same request every run
  std::int64_t layer_frames = 8;                        // per-group pass over this many frames (0: off)
  bool streaming = false;                               // also the streaming decoder against the offline windows
  std::vector<std::int64_t> chunk_frames{4, 16};        // its chunk lengths
  std::string out = ".";
};

// On the CPU every precision runs on the fp32 backend (it emulates bf16 / fp8 weights); on cuda
// the backend made for that precision.
Precision backend_precision(Device device, Precision precision) {
  return device == Device::Cpu ? Precision::F32 : precision;
}

void run_quality(const QualityOptions& o) {
  const BackendOptionNames names{.device = "--device", .precision = "--reference"};
  const DeviceName gpu_or_cpu = parse_device(o.device, names.device);
  const Device device = gpu_or_cpu.device;
  const Precision reference = parse_precision(o.reference, names.precision);
  const KvCache kv_cache = parse_kv_cache(o.kv_cache, "--kv_cache");
  if (o.precisions.empty()) throw InvalidArgument("--precisions: name at least one of fp32, bf16, fp8, nf4, int4");
  std::vector<Precision> precisions;
  for (const std::string& p : o.precisions) precisions.push_back(parse_precision(p, "--precisions"));
  if (o.layer_frames < 0) throw InvalidArgument("--layer_frames " + std::to_string(o.layer_frames) + " is negative");
  for (const std::int64_t c : o.chunk_frames)
    if (c < 1) throw InvalidArgument("--chunk_frames " + std::to_string(c) + " is not a positive frame count");
  BackendChoice choice{.precision = backend_precision(device, reference)};
  choice.set_device(gpu_or_cpu);
  const ModelBackends backends = make_model_backends(choice, names);
  const CheckpointPaths paths = resolve_checkpoint(o.model_path, o.version);
  const fs::path out(o.out);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out)) throw InvalidArgument("--out '" + o.out + "' is not a folder that can be made");

  const GenConfig gen = read_gen_config(paths.gen_config);
  const Tokenizer tokenizer = Tokenizer::load(paths.tokenizer);
  const CodecConfig codec = read_codec_config(paths.codec_dir / "config.json");
  GenerationRequest request{build_prompt(tokenizer, gen, o.tags, o.lyrics, o.cfg_scale),
                            o.max_audio_length_ms,
                            {.temperature = o.temperature, .topk = o.topk, .cfg_scale = o.cfg_scale},
                            o.seed};
  request.codebook_size = codec.codebook_size;
  request.kv_cache = kv_cache;

  LmQualityRun lm = measure_lm(*backends.lm, paths.mula_dir, reference, precisions, gen, request, o.layer_frames);
  Tensor codes = Tensor::zeros({codec.num_quantizers, static_cast<std::int64_t>(lm.frames.size())}, DType::I32);
  for (std::size_t t = 0; t < lm.frames.size(); ++t)
    for (std::int64_t q = 0; q < codec.num_quantizers; ++q)
      codes.data<std::int32_t>()[q * codes.dim(1) + static_cast<std::int64_t>(t)] = lm.frames[t][q];
  const CodecBackendFactory make_backend = [&](Precision p) {
    return make_codec_backend(gpu_or_cpu, backend_precision(device, p), names);
  };
  std::vector<Precision> codec_precisions;  // the codec has no 4-bit path (nf4 / int4 measure the LM alone)
  for (const Precision p : precisions)
    if (!is_4bit(p)) codec_precisions.push_back(p);
  const CodecQualityRun audio = measure_codec(make_backend, paths.codec_dir, reference, codec_precisions, codes, o.seed,
                                              o.streaming ? o.chunk_frames : std::vector<std::int64_t>{});

  QualityReport report;
  report.model_path = o.model_path;
  report.version = o.version;
  report.device = o.device;
  report.reference = reference;
  report.kv_cache = request.kv_cache;
  report.request = {o.tags, o.lyrics, o.max_audio_length_ms, request.sampling, o.seed};
  report.frames = static_cast<std::int64_t>(lm.frames.size());
  report.stop_reason = lm.stop_reason;
  report.lm = std::move(lm.lm);
  report.layer_precision = lm.layer_precision;
  if (lm.layer_precision) report.layer_frames = std::min(o.layer_frames, report.frames);
  report.layers = std::move(lm.layers);
  report.codec = audio.codec;
  report.streaming = audio.streaming;
  report.image = kImageName;
  std::vector<std::vector<double>> curves;
  for (const LmQuality& q : report.lm) curves.push_back(q.logits.frame_kl);
  write_quality_png(out / kImageName, audio.reference_mel, audio.worst_mel, curves);
  const fs::path json_path = out / kReportName;
  std::ofstream json(json_path);
  json << boost::json::serialize(to_json(report)) << "\n";
  if (!json.flush()) throw InvalidArgument("cannot write '" + json_path.string() + "'");
  print_quality_table(stdout, report);
  std::fprintf(stderr, "wrote %s and %s\n", json_path.c_str(), (out / kImageName).c_str());
}

}  // namespace

void add_quality_command(CLI::App& app) {
  auto opt = std::make_shared<QualityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quality", "Measure what each weight precision costs: LM logits under teacher forcing, codec audio, streaming");
  cmd->add_option("--model_path", opt->model_path, "Checkpoint folder (HeartMuLa-oss-<version>/, HeartCodec-oss/, ...)")
      ->required();
  cmd->add_option("--version", opt->version, "Model version: the folder HeartMuLa-oss-<version>")->capture_default_str();
  cmd->add_option("--device", opt->device, "Where both models run: cpu (bf16 / fp8 emulated) | cuda | cuda:N")
      ->capture_default_str();
  cmd->add_option("--reference", opt->reference, "Precision measured against: fp32, or bf16 when fp32 does not fit")
      ->capture_default_str();
  cmd->add_option("--kv_cache", opt->kv_cache,
                  "The measured precisions' LM KV cache: auto | fp8 (the reference keeps auto; --reference bf16 "
                  "--precisions bf16 --kv_cache fp8 measures the fp8 cache alone)")
      ->capture_default_str();
  cmd->add_option("--precisions", opt->precisions, "Precisions to measure, comma-separated (fp32, bf16, fp8; nf4, int4: the LM only)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--tags", opt->tags, "The request's tags")->capture_default_str();
  cmd->add_option("--lyrics", opt->lyrics, "The request's lyrics");
  cmd->add_option("--max_audio_length_ms", opt->max_audio_length_ms, "The request's length limit")->capture_default_str();
  cmd->add_option("--topk", opt->topk, "Top-k of the sampler (and of the KL and top-k agreement)")->capture_default_str();
  cmd->add_option("--temperature", opt->temperature, "Sampling temperature")->capture_default_str();
  cmd->add_option("--cfg_scale", opt->cfg_scale, "Classifier-free guidance scale")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Song seed (LM sampling and codec noise)")->capture_default_str();
  cmd->add_option("--layer_frames", opt->layer_frames,
                  "Frames of the per-linear-group pass (each group alone at the costliest precision; 0: skip)")
      ->capture_default_str();
  cmd->add_flag("--streaming", opt->streaming, "Also compare the streaming decoder with the offline windows");
  cmd->add_option("--chunk_frames", opt->chunk_frames, "Streaming chunk lengths in code frames, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--out", opt->out, "Folder for quality_report.json and quality_report.png")->capture_default_str();
  cmd->callback([opt] { run_quality(*opt); });
}

}  // namespace hs::cli
