#include "engine/pipeline/streaming_decoder.h"

#include <algorithm>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kLatentsPerCodeFrame = 2;  // 12.5 Hz codes → 25 Hz latents
constexpr std::int64_t kCodeFrameMs = 80;
constexpr std::int64_t kStereo = 2;

}  // namespace

StreamingDecoder::StreamingDecoder(const CodecModel& model, NoiseSource& noise, StreamingDecoderOptions options)
    : model_(&model),
      noise_(&noise),
      options_(std::move(options)),
      stream_(model.decoder(), kStereo),
      quantizers_(model.config().num_quantizers) {
  if (options_.chunk_frames < 1)
    throw InvalidArgument("StreamingDecoder: chunk_frames " + std::to_string(options_.chunk_frames) + " < 1");
  if (options_.first_chunk_frames < 0)
    throw InvalidArgument("StreamingDecoder: first_chunk_frames " + std::to_string(options_.first_chunk_frames) +
                          " < 0");
  if (options_.context_frames < 0)
    throw InvalidArgument("StreamingDecoder: context_frames " + std::to_string(options_.context_frames) + " < 0");
  if (options_.first_chunk_frames == 0) options_.first_chunk_frames = options_.chunk_frames;
  if (model.flow().latent_channels() != kStereo * model.decoder().latent_channels())
    throw InvalidArgument("StreamingDecoder: the codec's latents are not " + std::to_string(kStereo) + " channels of " +
                          std::to_string(model.decoder().latent_channels()));
  if (options_.context_frames > 0)
    context_buffer_ = model.backend().alloc({options_.context_frames * kLatentsPerCodeFrame, model.flow().latent_channels()},
                                            DType::F32);
}

void StreamingDecoder::push(std::span<const std::int32_t> codes) {
  if (finished_) throw InvalidArgument("StreamingDecoder::push: the stream is finished");
  if (static_cast<std::int64_t>(codes.size()) != quantizers_)
    throw InvalidArgument("StreamingDecoder::push: a frame of " + std::to_string(codes.size()) + " codes, expected " +
                          std::to_string(quantizers_));
  for (std::size_t k = 0; k < codes.size(); ++k)
    if (codes[k] < 0 || codes[k] >= model_->config().codebook_size)
      throw InvalidArgument("StreamingDecoder::push: frame " + std::to_string(frames_pushed_) + " codebook " +
                            std::to_string(k) + " holds " + std::to_string(codes[k]) + ", outside [0, " +
                            std::to_string(model_->config().codebook_size) + ")");
  codes_.insert(codes_.end(), codes.begin(), codes.end());
  ++frames_pushed_;
  const std::int64_t due = frames_decoded_ == 0 ? options_.first_chunk_frames : options_.chunk_frames;
  if (frames_pushed_ - frames_decoded_ == due) run_chunk();
}

void StreamingDecoder::finish() {
  if (finished_) throw InvalidArgument("StreamingDecoder::finish: the stream is already finished");
  finished_ = true;
  if (frames_pushed_ > frames_decoded_) run_chunk();
  append_audio(stream_.finish());
}

std::vector<float> StreamingDecoder::pull() {
  std::vector<float> out;
  out.swap(pcm_);
  return out;
}

std::int64_t StreamingDecoder::algorithmic_latency_ms() const {
  const std::int64_t look_ahead_code_frames =
      (model_->decoder().look_ahead_frames() + kLatentsPerCodeFrame - 1) / kLatentsPerCodeFrame;
  return (options_.chunk_frames - 1 + look_ahead_code_frames) * kCodeFrameMs;
}

Tensor StreamingDecoder::codes_tensor(std::size_t first, std::size_t n) const {
  Tensor out = Tensor::zeros({quantizers_, static_cast<std::int64_t>(n)}, DType::I32);
  std::int32_t* dst = out.data<std::int32_t>();
  for (std::size_t t = 0; t < n; ++t)
    for (std::int64_t k = 0; k < quantizers_; ++k)
      dst[static_cast<std::size_t>(k) * n + t] = codes_[(first + t) * static_cast<std::size_t>(quantizers_) + k];
  return out;
}

FlowMatcher::Workspace& StreamingDecoder::workspace(std::int64_t frames, std::int64_t context) {
  auto& ws = workspaces_[{frames, context}];
  if (!ws) ws = model_->flow().make_workspace(frames, context, options_.schedule);
  return *ws;
}

void StreamingDecoder::run_chunk() {
  Backend& be = model_->backend();
  const FlowMatcher& flow = model_->flow();
  const std::int64_t fresh = frames_pushed_ - frames_decoded_;
  const std::int64_t held = context_held_ + fresh;
  const std::int64_t prefix_rows = context_held_ * kLatentsPerCodeFrame;
  // [carried context | new chunk]: features of every frame, the carried latents as prefix.
  const Tensor features = flow.condition(codes_tensor(0, static_cast<std::size_t>(held)));
  const Tensor prefix = prefix_rows > 0 ? context_buffer_.slice(0, prefix_rows) : Tensor();
  const Tensor latents = flow.sample(features, prefix, *noise_, workspace(features.dim(0), prefix_rows));
  const Tensor fresh_latents = latents.slice(prefix_rows, latents.dim(0));
  if (options_.on_latents) options_.on_latents(fresh_latents, frames_decoded_);
  append_audio(stream_.push(model_->decoder().split_channels(fresh_latents)));

  // Carry the last context_frames frames (codes and latents) into the next chunk.
  context_held_ = std::min(options_.context_frames, held);
  const std::int64_t keep_rows = context_held_ * kLatentsPerCodeFrame;
  if (keep_rows > 0) {
    Tensor kept = context_buffer_.slice(0, keep_rows);
    be.copy(latents.slice(latents.dim(0) - keep_rows, latents.dim(0)), kept);
  }
  codes_.erase(codes_.begin(), codes_.end() - context_held_ * quantizers_);
  frames_decoded_ = frames_pushed_;
}

void StreamingDecoder::append_audio(const Tensor& audio) {
  const Tensor host = model_->backend().download(audio);  // [2, 1, n]
  const std::int64_t n = host.dim(2);
  const float* src = host.data<float>();
  const std::size_t at = pcm_.size();
  pcm_.resize(at + static_cast<std::size_t>(kStereo * n));
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t c = 0; c < kStereo; ++c) pcm_[at + static_cast<std::size_t>(t * kStereo + c)] = src[c * n + t];
}

}  // namespace hs
