#include "clients/cli/quality/codec_quality.h"

#include <cstdio>
#include <span>
#include <string>

#include "engine/backends/backend_factory.h"
#include "engine/core/noise.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/offline_decode.h"
#include "engine/pipeline/song_seed.h"
#include "engine/pipeline/streaming_decoder.h"

namespace hs::cli {
namespace {

constexpr CodecLoadOptions kNoCache{.weight_cache = false};

// Offline audio host F32 [S, T · samples per frame].
Tensor decode_at(const CodecBackendFactory& make_backend, const std::filesystem::path& dir, Precision precision,
                 const Tensor& codes, std::uint64_t seed) {
  const std::unique_ptr<Backend> backend = make_backend(precision);
  const CodecModel model = CodecModel::load(*backend, dir, precision, kNoCache);
  GaussianNoise noise(codec_noise_seed(seed));
  return backend->download(decode_offline(model, codes, noise));
}

// The streaming decoder's audio of `codes` in chunks of `chunk`, planar like decode_offline's.
Tensor decode_streaming(const CodecModel& model, const Tensor& codes, std::uint64_t seed, std::int64_t chunk,
                        std::int64_t channels) {
  GaussianNoise noise(codec_noise_seed(seed));
  StreamingDecoder decoder(model, noise, song_chunking(chunk));  // as generate --stream and the daemon
  const std::int64_t quantizers = codes.dim(0), frames = codes.dim(1);
  std::vector<std::int32_t> frame(static_cast<std::size_t>(quantizers));
  for (std::int64_t t = 0; t < frames; ++t) {
    for (std::int64_t q = 0; q < quantizers; ++q) frame[q] = codes.data<std::int32_t>()[q * frames + t];
    decoder.push(frame);
  }
  decoder.finish();
  const std::vector<float> interleaved = decoder.pull();
  const auto samples = static_cast<std::int64_t>(interleaved.size()) / channels;
  Tensor planar = Tensor::zeros({channels, samples}, DType::F32);
  for (std::int64_t i = 0; i < samples; ++i)
    for (std::int64_t c = 0; c < channels; ++c) planar.data<float>()[c * samples + i] = interleaved[i * channels + c];
  return planar;
}

}  // namespace

CodecQualityRun measure_codec(const CodecBackendFactory& make_backend, const std::filesystem::path& codec_dir,
                              Precision reference, const std::vector<Precision>& precisions, const Tensor& codes,
                              std::uint64_t seed, const std::vector<std::int64_t>& chunk_frames) {
  std::fprintf(stderr, "decoding %lld frames at %s\n", static_cast<long long>(codes.dim(1)),
               std::string(precision_name(reference)).c_str());
  const Tensor ref_audio = decode_at(make_backend, codec_dir, reference, codes, seed);
  const double rate_hz = static_cast<double>(read_codec_config(codec_dir / "config.json").sample_rate);
  CodecQualityRun run;
  run.reference_mel = log_mel(ref_audio, rate_hz);
  run.worst_mel = run.reference_mel;
  double worst = -1;
  for (const Precision p : precisions) {
    std::fprintf(stderr, "decoding at %s\n", std::string(precision_name(p)).c_str());
    const Tensor audio = decode_at(make_backend, codec_dir, p, codes, seed);
    const AudioDistance d = audio_distance(audio, ref_audio, rate_hz);
    run.codec.push_back({std::string(precision_name(p)), d});
    if (p != reference && d.log_mel_distance_db > worst) {
      worst = d.log_mel_distance_db;
      run.worst_mel = log_mel(audio, rate_hz);
    }
  }
  if (chunk_frames.empty()) return run;
  const std::unique_ptr<Backend> backend = make_backend(reference);
  const CodecModel model = CodecModel::load(*backend, codec_dir, reference, kNoCache);
  for (const std::int64_t chunk : chunk_frames) {
    std::fprintf(stderr, "streaming in chunks of %lld frames\n", static_cast<long long>(chunk));
    const Tensor audio = decode_streaming(model, codes, seed, chunk, ref_audio.dim(0));
    run.streaming.push_back({std::to_string(chunk), audio_distance(audio, ref_audio, rate_hz)});
  }
  return run;
}

}  // namespace hs::cli
