#include "engine/pipeline/codec_batch.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace hs {

// One song's due chunk.
struct CodecBatch::Item {
  StreamingDecoder* decoder;
  StreamingDecoder::Chunk chunk;
};

CodecBatch::CodecBatch(const CodecModel& model, std::int64_t max_songs, FlowSchedule schedule)
    : model_(&model), max_songs_(max_songs), schedule_(schedule) {
  if (max_songs < 1) throw InvalidArgument("CodecBatch: max_songs " + std::to_string(max_songs) + " < 1");
}

CodecBatch::~CodecBatch() = default;

std::int64_t codec_call_size(std::int64_t songs, std::int64_t max_songs) {
  std::int64_t b = 1;
  while (b < songs) b = b % 3 == 0 ? b / 3 * 4 : std::max<std::int64_t>(2, b * 3 / 2);
  return std::min(b, max_songs);
}

void CodecBatch::prepare(const StreamingDecoderOptions& song, std::int64_t most_songs) {
  const SongShapes shapes = song_shapes(song);
  const std::int64_t largest = codec_call_size(most_songs, max_songs_);
  for (std::int64_t songs = 1;; songs = codec_call_size(songs + 1, max_songs_)) {
    for (const ChunkShape& chunk : shapes.chunks)
      model_->flow().prepare(workspace(songs, chunk.held * kLatentsPerCodeFrame, chunk.carried * kLatentsPerCodeFrame));
    latent_input(songs, shapes.first_push);
    for (const std::int64_t rows : shapes.later_pushes) latent_input(songs, rows);
    // The longest push first, so the decoder's buffers are sized once and no graph is voided.
    const std::int64_t longest = shapes.later_pushes.empty() ? 0 : *shapes.later_pushes.rbegin();
    stream().prepare(shapes.first_push, longest, 2 * songs);
    for (const std::int64_t rows : shapes.later_pushes) stream().prepare(shapes.first_push, rows, 2 * songs);
    if (songs >= largest) return;
  }
}

std::int64_t CodecBatch::shapes_made() const {
  return static_cast<std::int64_t>(workspaces_.size() + inputs_.size()) + (stream_ ? stream_->plans_made() : 0);
}

FlowMatcher::Workspace& CodecBatch::workspace(std::int64_t songs, std::int64_t frames, std::int64_t context) {
  auto& ws = workspaces_[{songs, frames, context}];
  if (!ws) ws = model_->flow().make_workspace(frames, context, schedule_, songs);
  return *ws;
}

ScalarDecoderStream& CodecBatch::stream() {
  if (!stream_) stream_ = std::make_unique<ScalarDecoderStream>(model_->decoder(), 2 * max_songs_);
  return *stream_;
}

Tensor& CodecBatch::latent_input(std::int64_t songs, std::int64_t frames) {
  Tensor& t = inputs_[{songs, frames}];
  if (!t.defined()) t = model_->backend().alloc({model_->flow().latent_channels() * songs, frames}, DType::F32);
  return t;
}

void CodecBatch::run(std::span<StreamingDecoder* const> decoders, const OnCall& on_call) {
  for (StreamingDecoder* d : decoders)
    if (d->options_.batch != this) throw InvalidArgument("CodecBatch::run: a decoder not made on this batch");
  using Shape = std::tuple<bool, std::int64_t, std::int64_t, std::int64_t, std::int64_t>;
  while (true) {
    // Each decoder's oldest held chunk, grouped by call shape (and decoder push length), the groups
    // in the order their first decoder comes.
    std::vector<std::pair<Shape, std::vector<Item>>> groups;
    for (StreamingDecoder* d : decoders) {
      if (d->held_.empty()) continue;
      StreamingDecoder::Chunk chunk = std::move(d->held_.front());
      d->held_.pop_front();
      const std::int64_t frames = chunk.flush ? 0 : chunk.codes.dim(1);
      const Shape shape{chunk.flush, frames, chunk.prefix_rows, d->stream_.drop_pending(), d->options_.decoder_frames};
      auto group = std::ranges::find(groups, shape, &std::pair<Shape, std::vector<Item>>::first);
      if (group == groups.end()) group = groups.insert(group, {shape, {}});
      group->second.push_back({d, std::move(chunk)});
    }
    if (groups.empty()) return;
    for (auto& [shape, items] : groups)
      for (std::size_t at = 0; at < items.size(); at += static_cast<std::size_t>(max_songs_)) {
        const std::size_t n = std::min(items.size() - at, static_cast<std::size_t>(max_songs_));
        const std::span<Item> part(items.data() + at, n);
        if (std::get<0>(shape)) flush(part);
        else decode(part);
        chunks_ += static_cast<std::int64_t>(n);
        ++calls_;
        if (!on_call) continue;
        std::vector<StreamingDecoder*> called;
        for (const Item& item : part) called.push_back(item.decoder);
        on_call(called);
      }
  }
}

void CodecBatch::decode(std::span<Item> items) {
  Backend& be = model_->backend();
  const FlowMatcher& flow = model_->flow();
  const auto k = static_cast<std::int64_t>(items.size());
  const std::int64_t songs = codec_call_size(k, max_songs_);
  // Every song's condition features from one call on their codes side by side (the features of
  // a frame depend only on its codes), so the call uploads once (each upload waits for its copy)
  // and allocates a few tensors, not k times as many.
  const std::int64_t held = items.front().chunk.codes.dim(1), quantizers = items.front().chunk.codes.dim(0);
  Tensor codes = Tensor::zeros({quantizers, k * held}, DType::I32);
  for (std::int64_t s = 0; s < k; ++s)
    for (std::int64_t q = 0; q < quantizers; ++q)
      std::copy_n(items[static_cast<std::size_t>(s)].chunk.codes.data<std::int32_t>() + q * held, held,
                  codes.data<std::int32_t>() + q * k * held + s * held);
  const Tensor all_features = flow.condition(codes);
  const std::int64_t frames = all_features.dim(0) / k, context = items.front().chunk.prefix_rows;
  std::vector<Tensor> features, prefixes;
  std::vector<NoiseSource*> noises;
  std::vector<ScalarDecoderStream*> streams;
  for (std::int64_t s = 0; s < k; ++s) {
    const Item& item = items[static_cast<std::size_t>(s)];
    features.push_back(all_features.slice(s * frames, (s + 1) * frames));
    prefixes.push_back(item.decoder->prefix(item.chunk));
    noises.push_back(item.decoder->noise_);
    streams.push_back(&item.decoder->stream_);
  }
  const Tensor latents = flow.sample(features, prefixes, noises, workspace(songs, frames, context));
  std::vector<Tensor> fresh;  // every song's new latents [T − P, latent channels]
  for (std::int64_t s = 0; s < k; ++s) {
    Item& item = items[static_cast<std::size_t>(s)];
    fresh.push_back(item.decoder->carry_latents(item.chunk, latents.slice(s * frames, (s + 1) * frames)));
  }
  // Each decoder push of them (StreamingDecoderOptions::decoder_frames), split into the decoder's
  // channels: [2k, latent channels, rows].
  const std::int64_t channels = flow.latent_channels();
  std::int64_t row = 0;
  for (const std::int64_t rows : items.front().decoder->decoder_pushes(frames - context)) {
    Tensor& input = latent_input(songs, rows);
    for (std::int64_t s = 0; s < k; ++s) {
      Tensor song_rows = input.slice(s * channels, (s + 1) * channels);
      be.transpose(fresh[static_cast<std::size_t>(s)].slice(row, row + rows), song_rows);
    }
    const Tensor latent = input.slice(0, k * channels).reshape({2 * k, model_->decoder().latent_channels(), rows});
    deliver(items, stream().push_many(streams, latent, 2 * songs));
    row += rows;
  }
}

void CodecBatch::deliver(std::span<Item> items, const Tensor& audio) {
  const Tensor host = model_->backend().download(audio);  // one wait for the whole call
  for (std::size_t s = 0; s < items.size(); ++s) {
    const auto row = static_cast<std::int64_t>(2 * s);
    items[s].decoder->append_host_audio(host.slice(row, row + 2));
  }
}

void CodecBatch::flush(std::span<Item> items) {
  // The one-shot decode's right padding of the input conv (ScalarDecoderStream::finish): zeros.
  const auto k = static_cast<std::int64_t>(items.size());
  const ScalarDecoder& decoder = model_->decoder();
  const Tensor zeros = model_->backend().alloc({2 * k, decoder.latent_channels(), decoder.look_ahead_frames()}, DType::F32);
  std::vector<ScalarDecoderStream*> streams;
  for (const Item& item : items) streams.push_back(&item.decoder->stream_);
  deliver(items, stream().push_many(streams, zeros, 2 * codec_call_size(k, max_songs_)));
}

}  // namespace hs
