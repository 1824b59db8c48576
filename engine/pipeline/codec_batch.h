// CodecBatch: the streaming chunks of several songs decoded together (DESIGN.md "Streaming codec").
// StreamingDecoders made with StreamingDecoderOptions::batch hold a chunk when it falls due; run()
// decodes every held chunk, those of the same shape (frames, in-context frames, the decoder's
// look-ahead still owed) as one flow-matching solve — one estimator call per Euler step over all
// of them — and one scalar-decoder call. Each song's audio is the same as alone: its own noise,
// context and decoder state; only the GEMMs' row count changes (bit-identical on the CPU backend).
// The batch owns the buffers and graphs every call shape needs, so a song's decoder holds only its
// state: flow-matching buffers per call size and chunk shape, and one scalar-decoder workspace
// whose buffers every call size shares (sized for the largest call run so far). One thread drives
// a CodecBatch and its decoders.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <tuple>

#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/flow_matching.h"
#include "engine/model/codec/scalar_decoder_stream.h"
#include "engine/pipeline/streaming_decoder.h"

namespace hs {

// The call size a group of `songs` due chunks runs at: 1, 2, 3, 4, 6, 8, 12, 16, … (a power of two
// or 1.5 times one) up to max_songs, so few shapes capture graphs (the extra rows compute and are
// not read). A CodecBatch keeps the graphs of every size it has run.
std::int64_t codec_call_size(std::int64_t songs, std::int64_t max_songs);

class CodecBatch {
 public:
  // Calls of up to `max_songs` songs (larger groups are split); InvalidArgument for < 1. `model`
  // must outlive the batch.
  CodecBatch(const CodecModel& model, std::int64_t max_songs, FlowSchedule schedule = {});
  ~CodecBatch();

  // A call's decoders, whose audio is then ready to pull().
  using OnCall = std::function<void(std::span<StreamingDecoder* const>)>;
  // Decodes every chunk the decoders hold (made on this batch), each decoder's oldest first; their
  // audio is then ready to pull(). Calls run in the order of their first decoder in `decoders` (the
  // caller's priority), and `on_call`, when set, hears each one's decoders as it ends. The first
  // error stops the run and is rethrown.
  void run(std::span<StreamingDecoder* const> decoders, const OnCall& on_call = {});

  // Makes, ahead of the first songs, the buffers and graphs of the calls of up to `most_songs` songs
  // (each call size up to max_songs) in a song's chunk shapes up to the steady one (song_shapes:
  // what songs of `song`'s chunking run as they start), so a crowd's first calls neither allocate
  // nor capture. A song's last chunk and flush may still make theirs.
  void prepare(const StreamingDecoderOptions& song, std::int64_t most_songs);
  // Call shapes given buffers (and graphs, on backends that capture) so far.
  std::int64_t shapes_made() const;

  std::int64_t max_songs() const { return max_songs_; }
  // Songs decoded by the calls so far, and the calls (for metrics and tests).
  std::int64_t chunks_decoded() const { return chunks_; }
  std::int64_t calls() const { return calls_; }

 private:
  struct Item;
  void decode(std::span<Item> items);
  void flush(std::span<Item> items);
  // Hands each song its rows of a call's audio [2k, 1, m].
  void deliver(std::span<Item> items, const Tensor& audio);
  FlowMatcher::Workspace& workspace(std::int64_t songs, std::int64_t frames, std::int64_t context);
  // The scalar decoder's workspace for calls of up to max_songs songs.
  ScalarDecoderStream& stream();
  Tensor& latent_input(std::int64_t songs, std::int64_t frames);

  const CodecModel* model_;
  std::int64_t max_songs_;
  FlowSchedule schedule_;
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::unique_ptr<FlowMatcher::Workspace>> workspaces_;
  std::unique_ptr<ScalarDecoderStream> stream_;
  std::map<std::pair<std::int64_t, std::int64_t>, Tensor> inputs_;  // [2·songs·latent channels, frames]
  std::int64_t chunks_ = 0;
  std::int64_t calls_ = 0;
};

}  // namespace hs
