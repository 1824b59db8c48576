#include "clients/cli/song_output.h"

#include <string>

#include "daemon/audio/audio_file.h"
#include "daemon/audio/background_audio_sink.h"
#include "daemon/audio/pcm.h"
#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/offline_decode.h"
#include "engine/pipeline/song_seed.h"

namespace hs::cli {

namespace {

StreamingDecoderOptions streaming_options(const CodecModel& codec, std::int64_t chunk_frames) {
  StreamingDecoderOptions options = song_chunking(chunk_frames);
  // On a GPU the codec decodes a chunk while the LM makes the next frames (one song: the codec's
  // backend serves only this decoder). On the CPU both would share the same cores.
  options.background = codec.backend().device() == Device::Cuda;
  return options;
}

}  // namespace

void warm_up_streaming(const CodecModel& codec) {
  GaussianNoise noise(0);
  StreamingDecoder decoder(codec, noise, streaming_options(codec, kSoloChunkFrames));
  const std::vector<std::int32_t> codes(static_cast<std::size_t>(codec.config().num_quantizers), 0);
  for (std::int64_t i = 0; i < kFirstChunkFrames; ++i) decoder.push(codes);
  decoder.finish();
}

SongOutput::SongOutput(const SongOutputOptions& options, const CodecModel* codec, std::uint64_t seed)
    : options_(options), codec_(codec), seed_(seed) {
  if (options_.save_path.empty()) return;
  if (codec_ == nullptr) throw InvalidArgument("--save_path '" + options_.save_path.string() + "' needs the codec");
  sink_ = std::make_unique<BackgroundAudioSink>(
      open_audio_file(options_.save_path, static_cast<int>(codec_->config().sample_rate), kChannels), kChannels);
  noise_ = std::make_unique<GaussianNoise>(codec_noise_seed(seed_));
  if (!options_.stream) return;
  decoder_ = std::make_unique<StreamingDecoder>(*codec_, *noise_, streaming_options(*codec_, options_.chunk_frames));
}

void SongOutput::push(const Frame& frame) {
  const auto index = static_cast<std::int64_t>(frames_.size());
  frames_.push_back(frame);
  if (codec_ == nullptr) return;
  const std::int64_t codes = codec_->config().codebook_size;
  for (std::size_t k = 0; k < frame.size(); ++k)
    if (frame[k] < 0 || frame[k] >= codes)
      throw FormatError("frame " + std::to_string(index) + " codebook " + std::to_string(k) + " holds " +
                        std::to_string(frame[k]) + ", outside the codec's [0, " + std::to_string(codes) + ")");
  if (!decoder_) return;
  decoder_->push(frame);
  write_interleaved(decoder_->pull());
}

void SongOutput::finish(StopReason reason) {
  if (!options_.tokens_out.empty())
    write_safetensors(options_.tokens_out, {{"frames", frames_tensor(frames_)}},
                      {{"seed", std::to_string(seed_)}, {"stop_reason", std::string(stop_reason_name(reason))}});
  if (!sink_) return;
  if (decoder_) {
    decoder_->finish();
    write_interleaved(decoder_->pull());
  } else if (!frames_.empty()) {
    const Tensor audio = codec_->backend().download(decode_offline(*codec_, frames_tensor(frames_), *noise_));
    write_planar_audio(*sink_, audio);
  }
  sink_->finish();
}

std::int64_t SongOutput::audio_samples_written() const { return sink_ ? sink_->frames_written() : 0; }

std::optional<SongOutput::Clock::time_point> SongOutput::first_audio_at() const {
  return sink_ ? sink_->first_written_at() : std::nullopt;
}

void SongOutput::write_interleaved(const std::vector<float>& pcm) {
  sink_->write(pcm.data(), pcm.size() / kChannels);
}

Tensor frames_tensor(const std::vector<Frame>& frames) {
  const auto count = static_cast<std::int64_t>(frames.size());
  Tensor t = Tensor::zeros({kNumCodebooks, count}, DType::I32);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t k = 0; k < kNumCodebooks; ++k) t.data<std::int32_t>()[k * count + i] = frames[i][k];
  return t;
}

void write_planar_audio(AudioSink& sink, const Tensor& audio) {
  if (audio.rank() != 2 || audio.dim(0) != kChannels)
    throw InvalidArgument("audio is " + shape_str(audio.shape()) + ", expected [" + std::to_string(kChannels) + ", N]");
  const std::int64_t samples = audio.dim(1);
  std::vector<float> pcm(static_cast<std::size_t>(kChannels * samples));
  const float* src = audio.data<float>();
  for (std::int64_t c = 0; c < kChannels; ++c)
    for (std::int64_t t = 0; t < samples; ++t) pcm[static_cast<std::size_t>(t * kChannels + c)] = src[c * samples + t];
  sink.write(pcm.data(), static_cast<std::size_t>(samples));
}

}  // namespace hs::cli
