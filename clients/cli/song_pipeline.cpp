#include "clients/cli/song_pipeline.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/read_file.h"
#include "engine/text/prompt.h"

namespace hs::cli {
namespace {

double seconds_between(GenerateProgress::Clock::time_point from, GenerateProgress::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Pulls every frame into `output`, with progress on stderr; returns why the stream ended.
StopReason run_frames(Generator& generator, SongOutput& output, double sample_rate_hz, GenerateProgress& progress) {
  const StopReason reason = generator.run([&](const Frame& frame) {
    output.push(frame);
    progress.on_frame(generator.frames_emitted());
    if (const auto at = output.first_audio_at()) progress.on_first_audio(*at);
    if (sample_rate_hz > 0)
      progress.on_audio(static_cast<double>(output.audio_samples_written()) / sample_rate_hz,
                        GenerateProgress::Clock::now());
  });
  output.finish(reason);
  if (const auto at = output.first_audio_at()) progress.on_first_audio(*at);
  const std::int64_t frames = generator.frames_emitted();
  const double audio_s = sample_rate_hz > 0 ? static_cast<double>(output.audio_samples_written()) / sample_rate_hz
                                            : static_cast<double>(frames * kFrameMs) / 1000.0;
  progress.finish(frames, audio_s, reason);
  return reason;
}

}  // namespace

std::string text_or_file(const std::string& option, const std::string& arg, std::size_t max_bytes) {
  const bool one_line = arg.find('\n') == std::string::npos;
  const bool looks_like_path = one_line && (arg.find('/') != std::string::npos || arg.ends_with(".txt"));
  std::error_code ec;
  if (!looks_like_path && (arg.empty() || !std::filesystem::is_regular_file(arg, ec))) return arg;
  try {
    return read_regular_file(arg, max_bytes);
  } catch (const FileReadError& e) {
    throw InvalidArgument(option + " '" + arg + "': " + e.what() +
                          " (one line with a '/' or ending in .txt is read as a file's path)");
  }
}

std::unique_ptr<SongModels> load_song_models(const BackendChoice& choice, const BackendOptionNames& names,
                                             const std::string& model_path, const std::string& version,
                                             bool need_codec) {
  ModelBackends backends = make_model_backends(choice, names);
  std::fprintf(stderr, "language model on %s (%s), codec on %s (%s)\n", backends.lm->name().c_str(),
               std::string(precision_name(backends.lm_precision)).c_str(), backends.codec->name().c_str(),
               std::string(precision_name(backends.codec_precision)).c_str());
  for (const Backend* b : {backends.lm.get(), backends.codec.get()})
    if (!b->details().empty()) {
      std::fprintf(stderr, "%s\n", b->details().c_str());
      break;
    }
  const CheckpointPaths paths = resolve_checkpoint(model_path, version, need_codec);
  auto models = std::unique_ptr<SongModels>(new SongModels{std::move(backends), paths, read_gen_config(paths.gen_config),
                                                           Tokenizer::load(paths.tokenizer), nullptr, std::nullopt, {}, {}});
  SongModels& m = *models;
  m.lm = MulaModel::load(*m.backends.lm, paths.mula_dir, m.backends.lm_precision, {}, &m.lm_load);
  if (need_codec) {
    m.codec.emplace(CodecModel::load(*m.backends.codec, paths.codec_dir, m.backends.codec_precision, {}, &m.codec_load));
    if (m.backends.codec->device() == Device::Cuda) warm_up_streaming(*m.codec);
  }
  const std::size_t lm_bytes = m.backends.lm->allocated_bytes(), codec_bytes = m.backends.codec->allocated_bytes();
  if (lm_bytes + codec_bytes > 0)
    std::fprintf(stderr, "device memory after load: language model %.2f GB, codec %.2f GB\n",
                 static_cast<double>(lm_bytes) / 1e9, static_cast<double>(codec_bytes) / 1e9);
  return models;
}

SongRun run_song(const SongModels& models, const SongRequest& r, const SongOutputOptions& output_options) {
  const auto start = GenerateProgress::Clock::now();
  GenerateProgress progress(stderr, ::isatty(STDERR_FILENO) != 0, max_frames_for(r.max_audio_length_ms));
  GenerationRequest request{build_prompt(models.tokenizer, models.gen, r.tags, r.lyrics, r.sampling.cfg_scale),
                            r.max_audio_length_ms, r.sampling, r.seed};
  request.kv_cache = r.kv_cache;
  const std::filesystem::path codec_config = models.paths.codec_dir / "config.json";
  if (models.codec)
    request.codebook_size = models.codec->config().codebook_size;
  else if (std::filesystem::is_regular_file(codec_config))
    request.codebook_size = read_codec_config(codec_config).codebook_size;
  SongRun run;
  run.prompt_rows = request.prompt.length();
  Generator generator(models.lm, models.gen, request);
  progress.mark("the tokens and the LM's session");
  const CodecModel* codec = models.codec ? &*models.codec : nullptr;
  SongOutput output(output_options, codec, r.seed);
  progress.mark("the codec's decoder (first-chunk graphs)");
  const double sample_rate_hz = codec ? static_cast<double>(codec->config().sample_rate) : 0.0;
  run.reason = run_frames(generator, output, sample_rate_hz, progress);
  run.wall_s = seconds_between(start, GenerateProgress::Clock::now());
  run.frames = generator.frames_emitted();
  run.audio_s = sample_rate_hz > 0 ? static_cast<double>(output.audio_samples_written()) / sample_rate_hz
                                   : static_cast<double>(run.frames * kFrameMs) / 1000.0;
  if (const auto at = output.first_audio_at()) run.first_audio_s = seconds_between(start, *at);
  return run;
}

}  // namespace hs::cli
