#include "engine/pipeline/streaming_decoder.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <thread>

#include "engine/core/error.h"
#include "engine/pipeline/codec_batch.h"

namespace hs {
namespace {

constexpr std::int64_t kCodeFrameMs = 80;
constexpr std::int64_t kStereo = 2;

// Code frames of a song's chunk after `decoded` frames: its first chunk (first_chunk_frames; 0:
// chunk_frames), then each at most the frames before it, up to chunk_frames.
std::int64_t chunk_frames_after(const StreamingDecoderOptions& options, std::int64_t decoded) {
  if (decoded > 0) return std::min(options.chunk_frames, decoded);
  return options.first_chunk_frames > 0 ? options.first_chunk_frames : options.chunk_frames;
}

// The scalar decoder's pushes of `rows` new latent frames: at most `decoder_frames` code frames each.
std::vector<std::int64_t> push_lengths(std::int64_t rows, std::int64_t decoder_frames) {
  const std::int64_t most = decoder_frames * kLatentsPerCodeFrame;
  std::vector<std::int64_t> pushes;
  for (std::int64_t left = rows; left > 0; left -= most) pushes.push_back(std::min(left, most));
  return pushes;
}

}  // namespace

// A thread that decodes submitted chunks in order and, while none is waiting, captures the graphs
// of the chunk shapes to come. The first error stops it and is handed to the caller's next push,
// pull or finish.
class StreamingDecoder::Worker {
 public:
  explicit Worker(StreamingDecoder& owner) : owner_(owner), thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void submit(Chunk chunk) {
    rethrow();
    {
      std::lock_guard lock(mutex_);
      if (chunk.flush) preparing_ = false;  // no shape is still to come
      queue_.push_back(std::move(chunk));
    }
    wake_.notify_all();
  }
  // From now on the worker captures the later chunk shapes' graphs while no chunk waits.
  void start_preparing() {
    {
      std::lock_guard lock(mutex_);
      preparing_ = true;
    }
    wake_.notify_all();
  }
  // Waits until every submitted chunk has run.
  void drain() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return (queue_.empty() && !busy_) || error_; });
    lock.unlock();
    rethrow();
  }
  void rethrow() {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty() || preparing_; });
      if (stop_) return;
      std::optional<Chunk> chunk;
      if (!queue_.empty()) {
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      busy_ = true;
      lock.unlock();
      bool more = true;
      try {
        if (chunk) {
          owner_.decode(*chunk);
        } else {
          more = owner_.prepare_next();
        }
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      lock.lock();
      if (!more) preparing_ = false;
      busy_ = false;
      idle_.notify_all();
    }
  }
  void fail(std::exception_ptr error) {
    std::lock_guard lock(mutex_);
    error_ = error;
    busy_ = false;
    idle_.notify_all();
  }

  StreamingDecoder& owner_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<Chunk> queue_;
  bool busy_ = false;
  bool preparing_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above exist
};

StreamingDecoderOptions song_chunking(std::int64_t chunk_frames, std::int64_t first_chunk_frames) {
  StreamingDecoderOptions options;
  options.chunk_frames = chunk_frames;
  options.first_chunk_frames = std::min(first_chunk_frames, chunk_frames);
  return options;
}

SongShapes song_shapes(const StreamingDecoderOptions& options) {
  SongShapes shapes;
  for (std::int64_t decoded = 0, carried = 0;;) {
    const std::int64_t frames = chunk_frames_after(options, decoded);
    const ChunkShape shape{carried + frames, carried};
    if (std::ranges::find(shapes.chunks, shape) == shapes.chunks.end()) shapes.chunks.push_back(shape);
    for (const std::int64_t rows : push_lengths(frames * kLatentsPerCodeFrame, options.decoder_frames)) {
      if (shapes.first_push == 0) shapes.first_push = rows;
      else shapes.later_pushes.insert(rows);
    }
    const std::int64_t next_carried = std::min(options.context_frames, carried + frames);
    if (frames == options.chunk_frames && next_carried == carried) return shapes;  // steady
    decoded += frames;
    carried = next_carried;
  }
}

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
  if (options_.decoder_frames < 1)
    throw InvalidArgument("StreamingDecoder: decoder_frames " + std::to_string(options_.decoder_frames) + " < 1");
  if (options_.batch && options_.background)
    throw InvalidArgument("StreamingDecoder: a decoder on a CodecBatch cannot also decode in the background");
  if (options_.first_chunk_frames == 0) options_.first_chunk_frames = options_.chunk_frames;
  if (model.flow().latent_channels() != kStereo * model.decoder().latent_channels())
    throw InvalidArgument("StreamingDecoder: the codec's latents are not " + std::to_string(kStereo) + " channels of " +
                          std::to_string(model.decoder().latent_channels()));
  if (options_.context_frames > 0)
    context_buffer_ = model.backend().alloc({options_.context_frames * kLatentsPerCodeFrame, model.flow().latent_channels()},
                                            DType::F32);
  if (options_.background) {
    // The first chunk's graphs (flow, then decoder) are captured here, before the caller's model
    // runs: on CUDA, loading a kernel the first time waits for everything on the device, so the
    // codec's kernels load now instead of each waiting for the LM's frames later. The worker
    // captures the later shapes while the caller generates.
    prepare_next();
    prepare_next();
    worker_ = std::make_unique<Worker>(*this);
  }
}

StreamingDecoder::~StreamingDecoder() = default;

void StreamingDecoder::push(std::span<const std::int32_t> codes) {
  if (finished_) throw InvalidArgument("StreamingDecoder::push: the stream is finished");
  if (worker_) worker_->rethrow();
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
  if (frames_pushed_ - frames_decoded_ == chunk_after(frames_decoded_)) run_chunk();
}

std::int64_t StreamingDecoder::chunk_after(std::int64_t decoded) const {
  return chunk_frames_after(options_, decoded);
}

void StreamingDecoder::finish() {
  if (finished_) throw InvalidArgument("StreamingDecoder::finish: the stream is already finished");
  finished_ = true;
  if (frames_pushed_ > frames_decoded_) run_chunk();
  Chunk flush;
  flush.flush = true;
  submit(std::move(flush));
  if (worker_) worker_->drain();
  if (options_.batch) {
    StreamingDecoder* self = this;
    options_.batch->run({&self, 1});
  }
}

std::vector<float> StreamingDecoder::pull() {
  if (worker_) worker_->rethrow();
  std::vector<float> out;
  std::lock_guard lock(pcm_mutex_);
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
  const std::int64_t held = context_held_ + frames_pushed_ - frames_decoded_;
  Chunk chunk{codes_tensor(0, static_cast<std::size_t>(held)), context_held_ * kLatentsPerCodeFrame, 0,
              frames_decoded_, false};
  // Carry the last context_frames frames (codes and latents) into the next chunk.
  context_held_ = std::min(options_.context_frames, held);
  chunk.keep_rows = context_held_ * kLatentsPerCodeFrame;
  codes_.erase(codes_.begin(), codes_.end() - context_held_ * quantizers_);
  frames_decoded_ = frames_pushed_;
  submit(std::move(chunk));
}

void StreamingDecoder::submit(Chunk chunk) {
  if (worker_) {
    // The first chunk runs alone: beside the caller's next frames it would come later (the
    // time to first audio). Then the worker prepares the later shapes while the caller generates.
    const bool first = chunk.first_frame == 0 && !finished_;
    worker_->submit(std::move(chunk));
    if (!first) return;
    worker_->drain();
    worker_->start_preparing();
  } else if (options_.batch) {
    held_.push_back(std::move(chunk));
  } else {
    decode(chunk);
  }
}

Tensor StreamingDecoder::prefix(const Chunk& chunk) const {
  return chunk.prefix_rows > 0 ? context_buffer_.slice(0, chunk.prefix_rows) : Tensor();
}

Tensor StreamingDecoder::carry_latents(const Chunk& chunk, const Tensor& latents) {
  const Tensor fresh_latents = latents.slice(chunk.prefix_rows, latents.dim(0));
  if (options_.on_latents) options_.on_latents(fresh_latents, chunk.first_frame);
  if (chunk.keep_rows > 0) {
    Tensor kept = context_buffer_.slice(0, chunk.keep_rows);
    model_->backend().copy(latents.slice(latents.dim(0) - chunk.keep_rows, latents.dim(0)), kept);
  }
  return fresh_latents;
}

void StreamingDecoder::decode(const Chunk& chunk) {
  if (chunk.flush) return append_audio(stream_.finish());
  // [carried context | new chunk]: features of every frame, the carried latents as prefix.
  const Tensor features = model_->flow().condition(chunk.codes);
  const Tensor latents =
      model_->flow().sample(features, prefix(chunk), *noise_, workspace(features.dim(0), chunk.prefix_rows));
  const Tensor fresh = carry_latents(chunk, latents);
  std::int64_t row = 0;
  for (const std::int64_t rows : decoder_pushes(fresh.dim(0))) {
    append_audio(stream_.push(model_->decoder().split_channels(fresh.slice(row, row + rows))));
    row += rows;
  }
}

std::vector<std::int64_t> StreamingDecoder::decoder_pushes(std::int64_t rows) const {
  return push_lengths(rows, options_.decoder_frames);
}

bool StreamingDecoder::prepare_next() {
  // Step 0: the first chunk's flow; step 1: the decoder's pushes; then each later chunk's flow
  // until the steady one.
  const SongShapes shapes = song_shapes(options_);
  const std::int64_t step = prepared_++;
  if (step == 1) {
    for (const std::int64_t rows : shapes.later_pushes) stream_.prepare(shapes.first_push, rows);
    return true;
  }
  const std::size_t last = shapes.chunks.size() - 1;
  const std::size_t i = std::min(step == 0 ? 0 : static_cast<std::size_t>(step - 1), last);
  const ChunkShape& chunk = shapes.chunks[i];
  model_->flow().prepare(workspace(chunk.held * kLatentsPerCodeFrame, chunk.carried * kLatentsPerCodeFrame));
  return i < last;
}

void StreamingDecoder::append_audio(const Tensor& audio) { append_host_audio(model_->backend().download(audio)); }

void StreamingDecoder::append_host_audio(const Tensor& host) {
  const std::int64_t n = host.dim(2);
  const float* src = host.data<float>();
  std::lock_guard lock(pcm_mutex_);
  const std::size_t at = pcm_.size();
  pcm_.resize(at + static_cast<std::size_t>(kStereo * n));
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t c = 0; c < kStereo; ++c) pcm_[at + static_cast<std::size_t>(t * kStereo + c)] = src[c * n + t];
}

}  // namespace hs
