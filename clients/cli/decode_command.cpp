// `heartstream decode`: codec tokens (a .safetensors file holding I32 [8, T] `frames` or `codes`)
// → audio file, with the reference's offline window schedule (offline_decode.h). `--noise`
// replays recorded Gaussian draws (`noise_0`, `noise_1`, … in call order) for parity runs.
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "clients/cli/commands.h"
#include "clients/cli/song_output.h"
#include "daemon/audio/audio_file.h"
#include "engine/backends/backend_factory.h"
#include "engine/core/error.h"
#include "engine/core/noise.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/offline_decode.h"
#include "engine/pipeline/song_seed.h"

namespace hs::cli {
namespace {

constexpr std::string_view kTokenNames[] = {"frames", "codes"};
constexpr std::string_view kNoisePrefix = "noise_";

struct DecodeOptions {
  std::string model_path;             // folder with HeartCodec-oss/ (resolved as for generate)
  std::string version = "3B";         // HeartMuLa-oss-<version>
  std::string device = "cpu";         // cpu | cuda | cuda:N: where HeartCodec runs
  std::string precision = "fp32";     // fp32 | bf16 | fp8: its linears; fp32 (the reference) on both devices, as
                                      // decode is the parity tool; bf16 / fp8 (cuda) for speed
  std::string tokens;                 // .safetensors with `frames` or `codes` I32 [8, T]
  std::string noise;                  // optional .safetensors with noise_0, noise_1, ...
  std::optional<std::uint64_t> seed;  // song seed: noise as `generate --seed` draws it (random and printed when absent)
  std::string save_path;              // .wav | .flac | .opus | .ogg | .mp3 | .safetensors
};

// The codes of `path` as an owned host I32 [Q, T], checked against the codec.
Tensor read_codes(const std::string& path, const CodecConfig& codec) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  std::string name;
  for (const std::string_view candidate : kTokenNames)
    if (name.empty() && file.contains(candidate)) name = candidate;
  if (name.empty()) {
    std::string present;
    for (const TensorInfo& t : file.tensors()) present += (present.empty() ? "" : ", ") + t.name;
    throw FormatError("--tokens '" + path + "' holds no tensor 'frames' or 'codes' (it holds: " +
                      (present.empty() ? "nothing" : present) + ")");
  }
  const Tensor codes = file.get(name).clone();
  const std::string label = "--tokens '" + path + "' tensor '" + name + "'";
  if (codes.dtype() != DType::I32 || codes.rank() != 2 || codes.dim(0) != codec.num_quantizers || codes.dim(1) == 0)
    throw FormatError(label + " is " + std::string(dtype_name(codes.dtype())) + " " + shape_str(codes.shape()) +
                      ", expected I32 [" + std::to_string(codec.num_quantizers) + ", T] with T > 0");
  const std::int32_t* ids = codes.data<std::int32_t>();
  for (std::int64_t i = 0; i < codes.numel(); ++i)
    if (ids[i] < 0 || ids[i] >= codec.codebook_size)
      throw FormatError(label + ": codebook " + std::to_string(i / codes.dim(1)) + " of frame " +
                        std::to_string(i % codes.dim(1)) + " is " + std::to_string(ids[i]) +
                        ", outside the codec's [0, " + std::to_string(codec.codebook_size) + ")");
  return codes;
}

// noise_0, noise_1, ... of `path`, owned; FormatError when there is none.
std::vector<Tensor> read_noise(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  std::vector<Tensor> draws;
  for (int i = 0; file.contains(std::string(kNoisePrefix) + std::to_string(i)); ++i)
    draws.push_back(file.get(std::string(kNoisePrefix) + std::to_string(i)).to_f32());
  if (draws.empty()) throw FormatError("--noise '" + path + "' holds no tensor 'noise_0'");
  return draws;
}

void run_decode(const DecodeOptions& o) {
  // Only the codec is loaded, on the factory's codec backend.
  const BackendOptionNames names{.device = "--device", .precision = "--precision"};
  const Precision precision = parse_precision(o.precision, names.precision);
  const std::unique_ptr<Backend> codec_backend =
      make_codec_backend(parse_device(o.device, names.device), precision, names);
  Backend& backend = *codec_backend;
  const CheckpointPaths paths = resolve_checkpoint(o.model_path, o.version);
  const CodecModel model = CodecModel::load(backend, paths.codec_dir, precision);
  const Tensor codes = read_codes(o.tokens, model.config());
  auto sink = open_audio_file(o.save_path, static_cast<int>(model.config().sample_rate), kChannels);

  std::unique_ptr<NoiseSource> noise;
  ReplayNoise* replay = nullptr;
  if (!o.noise.empty()) {
    auto r = std::make_unique<ReplayNoise>(read_noise(o.noise));
    replay = r.get();
    noise = std::move(r);
  } else {
    const std::uint64_t seed = o.seed ? *o.seed : std::random_device{}();
    if (!o.seed) std::fprintf(stderr, "seed %llu\n", static_cast<unsigned long long>(seed));
    noise = std::make_unique<GaussianNoise>(codec_noise_seed(seed));
  }

  const auto start = std::chrono::steady_clock::now();
  const Tensor audio = backend.download(decode_offline(model, codes, *noise));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_planar_audio(*sink, audio);
  sink->finish();
  const double audio_s = static_cast<double>(audio.dim(1)) / static_cast<double>(model.config().sample_rate);
  std::fprintf(stderr, "%lld frames → %.2f s of audio in %.2f s (RTF %.3f) → %s\n",
               static_cast<long long>(codes.dim(1)), audio_s, seconds, audio_s > 0 ? seconds / audio_s : 0.0,
               o.save_path.c_str());
  if (replay != nullptr) std::fprintf(stderr, "replayed %zu noise tensors\n", replay->used());
}

}  // namespace

void add_decode_command(CLI::App& app) {
  auto opt = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand("decode", "Decode codec tokens to audio (HeartCodec, offline window schedule)");
  cmd->add_option("--model_path", opt->model_path, "Checkpoint folder (HeartCodec-oss/, HeartMuLa-oss-<version>/, ...)")
      ->required();
  cmd->add_option("--version", opt->version, "Model version: the folder HeartMuLa-oss-<version>")->capture_default_str();
  cmd->add_option("--device", opt->device, "Where HeartCodec runs: cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--precision", opt->precision,
                  "HeartCodec's weights: fp32 (the reference; the CPU computes only this) | bf16 | fp8 (cuda)")
      ->capture_default_str();
  cmd->add_option("--tokens", opt->tokens, ".safetensors file with I32 [8, T] 'frames' or 'codes'")->required();
  cmd->add_option("--noise", opt->noise, ".safetensors file with noise_0, noise_1, ... to replay (parity runs)");
  cmd->add_option("--seed", opt->seed,
                  "Song seed of the codec noise: the audio `generate --seed` makes from these tokens (random when absent)");
  cmd->add_option("--save_path", opt->save_path, "Output: .wav, .flac, .opus, .ogg, .mp3 or .safetensors (F32 'wav')")
      ->required();
  cmd->callback([opt] { run_decode(*opt); });
}

}  // namespace hs::cli
