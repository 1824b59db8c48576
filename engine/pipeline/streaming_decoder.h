// StreamingDecoder: code frames → 48 kHz stereo PCM while the song is being generated (DESIGN.md
// "Streaming codec"). Frames are grouped into chunks of C (after a shorter first chunk, each chunk
// is at most as long as all the audio before it: 4, 4, 8, 16, 16, … for C = 16, so a chunk's frames
// can be made while the audio before it plays); each chunk runs flow matching on
// [carried context latents | new chunk] with the carried latents as in-context prefix (the
// mechanism the offline windows use at their overlaps), then its new latents go through a
// ScalarDecoderStream (carried conv state, 2-latent-frame look-ahead), so consecutive chunks join
// without a cross-fade. Chunk boundaries depend only on the frame count, so the output does not
// depend on how frames are pushed. Per-stream state lives here; the CodecModel stays shared.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "engine/core/noise.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/flow_matching.h"
#include "engine/model/codec/scalar_decoder_stream.h"

namespace hs {

class CodecBatch;

// The first chunk the CLI's --stream and the daemon's songs decode (StreamingDecoderOptions::
// first_chunk_frames): 4 code frames (320 ms) start the audio a full chunk's worth earlier; later
// chunks grow to chunk_frames, each at most the audio before it.
inline constexpr std::int64_t kFirstChunkFrames = 4;
// The longest chunk a user may ask for (the daemon's streaming.chunk_frames, generate's
// --chunk_frames): one reference codec window.
inline constexpr std::int64_t kMaxChunkFrames = 372;
// The longest push into the scalar decoder (StreamingDecoderOptions::decoder_frames' default): a
// longer chunk's new latents go through it in pushes of at most this many code frames, so its
// buffers, the codec's largest (2048 channels at the first stage, 64 at 48 kHz), stay those of a
// 16-frame chunk however long the chunks grow. Only the flow solve sees the whole chunk.
inline constexpr std::int64_t kDecoderPushFrames = 16;
// Latent frames per code frame (12.5 Hz codes, 25 Hz latents).
inline constexpr std::int64_t kLatentsPerCodeFrame = 2;

struct StreamingDecoderOptions {
  std::int64_t chunk_frames = 16;    // C: code frames per flow-matching chunk (1.28 s)
  // Code frames of the first chunk (0: chunk_frames). Shorter means earlier first audio; a later
  // chunk then takes min(C, the frames before it), so boundaries depend only on the frame count
  // (first 4, C 16: 4, 8, 16, 32, 48, ...).
  std::int64_t first_chunk_frames = 0;
  std::int64_t context_frames = 16;  // code frames of previous latents carried as in-context prefix
  // The longest scalar-decoder push, in code frames: a chunk's new latents go through the decoder
  // in pushes of at most this many (the audio is the same, to fp32 rounding).
  std::int64_t decoder_frames = kDecoderPushFrames;
  FlowSchedule schedule;             // Euler steps and guidance (the reference's by default)
  // Called with each chunk's new latents [2·n, latent channels] (on the model's backend) and the
  // index of its first code frame, before they are decoded; for inspection (tests, measurements).
  // In the background it is called on the worker thread.
  std::function<void(const Tensor& latents, std::int64_t first_frame)> on_latents;
  // Decode chunks on a worker thread: push() returns at once (the first chunk aside, below),
  // pull() hands out the audio of the chunks finished so far, finish() waits for all of them. The
  // codec then computes while the caller generates the next frames (on a GPU, the LM's and the
  // codec's kernels overlap). The audio is the same either way. The constructor captures the first
  // chunk's graphs, and the push that completes the first chunk waits for its audio (alone on the
  // GPU it is ready sooner than beside the caller's next frames); from then on the worker, while
  // idle, captures those of the later chunk shapes. The codec's backend must serve no other thread
  // meanwhile.
  bool background = false;
  // Decode on a CodecBatch instead (not with background): a chunk that falls due is held until
  // CodecBatch::run decodes it together with other songs' chunks of the same shape; finish()
  // decodes what is left through the batch at once. The audio is the same as alone. The batch must
  // be on the same model and outlive the decoder.
  CodecBatch* batch = nullptr;
};

// A song's chunking (the CLI's --stream, the daemon, `heartstream quality`): chunks of `chunk_frames`
// after a first chunk of `first_chunk_frames` (short for earlier audio; never longer than the
// chunks).
StreamingDecoderOptions song_chunking(std::int64_t chunk_frames, std::int64_t first_chunk_frames = kFirstChunkFrames);

// The shapes a song's chunks take from its first to its steady one (which repeats until the last,
// which may be shorter), each once, in code frames: held (the carried context, then the new
// frames) and carried. A shape's flow-matching graph and buffers serve every chunk of it.
struct ChunkShape {
  std::int64_t held = 0, carried = 0;
  bool operator==(const ChunkShape&) const = default;
};
struct SongShapes {
  std::vector<ChunkShape> chunks;
  // The scalar decoder's pushes, in latent frames: the song's first (it drops the decoder's
  // look-ahead) and every later length.
  std::int64_t first_push = 0;
  std::set<std::int64_t> later_pushes;
};
SongShapes song_shapes(const StreamingDecoderOptions& options);

class StreamingDecoder {
 public:
  // `model` and `noise` must outlive the decoder. InvalidArgument for chunk_frames < 1,
  // first_chunk_frames < 0, context_frames < 0 or decoder_frames < 1.
  StreamingDecoder(const CodecModel& model, NoiseSource& noise, StreamingDecoderOptions options = {});
  ~StreamingDecoder();  // stops the worker (defined where Worker is complete)

  // Adds one frame (num_quantizers codes, each in [0, codebook_size)); runs a chunk when C frames
  // are waiting. InvalidArgument after finish() or for a malformed frame. A chunk that failed in
  // the background rethrows its error here, in pull() or in finish().
  void push(std::span<const std::int32_t> codes);
  // Decodes the frames still waiting and flushes the decoder's look-ahead; after it the output
  // holds frames_pushed() · samples_per_code_frame samples per channel. InvalidArgument if called twice.
  void finish();
  // The PCM completed since the last pull: interleaved stereo float at the codec's sample rate.
  std::vector<float> pull();

  bool finished() const { return finished_; }
  // Chunks held for the CodecBatch (StreamingDecoderOptions::batch) that its next run decodes.
  bool holds_chunks() const { return !held_.empty(); }
  std::int64_t frames_pushed() const { return frames_pushed_; }
  // The longest a pushed frame waits, in audio time, before all of its audio can come out: up to
  // C − 1 frames for its chunk to fill, plus the code frames its look-ahead needs, which can fall
  // in the next chunk (compute time comes on top). With the reference decoder's 2 latent frames
  // (one code frame) of look-ahead: C · 80 ms (the first chunk's frames wait less when it is shorter).
  std::int64_t algorithmic_latency_ms() const;

 private:
  // One chunk's work, fixed when its last frame arrives (so its shape depends only on frame counts).
  struct Chunk {
    Tensor codes;                  // host I32 [Q, held]: carried context frames, then the new ones
    std::int64_t prefix_rows = 0;  // latent rows of carried context
    std::int64_t keep_rows = 0;    // latent rows to carry into the next chunk
    std::int64_t first_frame = 0;  // index of its first new frame
    bool flush = false;            // the end of the stream: flush the decoder's look-ahead
  };
  class Worker;
  friend class CodecBatch;

  // Cuts the waiting frames into a chunk and runs it (here or in the background).
  void run_chunk();
  void submit(Chunk chunk);
  void decode(const Chunk& chunk);
  // Code frames of the chunk after `decoded` frames (first_chunk_frames, then growing to C).
  std::int64_t chunk_after(std::int64_t decoded) const;
  // Captures the graphs of the next chunk shape a stream will need (first chunk, the decoder's
  // pushes, then each later chunk's flow shape up to the steady one) ahead of its first use; false
  // once all are done.
  bool prepare_next();
  // The flow-matching workspace for `frames` latent frames with `context` in-context ones (one
  // per chunk shape: a stream sees the first, the growing ones, the steady and the last chunk's).
  FlowMatcher::Workspace& workspace(std::int64_t frames, std::int64_t context);
  // A chunk's in-context prefix (undefined for none).
  Tensor prefix(const Chunk& chunk) const;
  // After a chunk's flow matching gave its latents [T, C]: hands its new latents to on_latents and
  // carries the last ones into the next chunk. Returns the new latents.
  Tensor carry_latents(const Chunk& chunk, const Tensor& latents);
  // The latent rows of each decoder push of `rows` new latent rows, in order.
  std::vector<std::int64_t> decoder_pushes(std::int64_t rows) const;
  // Host I32 [Q, n] codes of the frames [first, first + n) held in codes_.
  Tensor codes_tensor(std::size_t first, std::size_t n) const;
  void append_audio(const Tensor& audio);       // [2, 1, n] on the backend
  void append_host_audio(const Tensor& audio);  // [2, 1, n] on the host

  const CodecModel* model_;
  NoiseSource* noise_;
  StreamingDecoderOptions options_;
  ScalarDecoderStream stream_;
  std::int64_t quantizers_;
  std::vector<std::int32_t> codes_;  // frame-major: carried context frames, then waiting frames
  std::int64_t context_held_ = 0;    // frames at the front of codes_ whose latents are carried
  Tensor context_buffer_;            // [2 · context_frames, C] on the backend: the carried latents in
                                     // its first 2 · context_held_ rows
  std::map<std::pair<std::int64_t, std::int64_t>, std::unique_ptr<FlowMatcher::Workspace>> workspaces_;
  std::int64_t frames_pushed_ = 0;
  std::int64_t frames_decoded_ = 0;
  bool finished_ = false;
  int prepared_ = 0;        // shapes prepare_next() has done (the worker's)
  std::mutex pcm_mutex_;    // pcm_ is appended by the worker in the background
  std::vector<float> pcm_;  // interleaved, not yet pulled
  std::deque<Chunk> held_;  // on a CodecBatch: due chunks, in order
  std::unique_ptr<Worker> worker_;  // background only; declared last: stopped first
};

}  // namespace hs
