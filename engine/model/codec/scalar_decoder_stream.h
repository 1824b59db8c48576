// The scalar decoder run chunk by chunk (DESIGN.md "Streaming codec"). Every causal conv carries
// its last dilation·(K−1) input frames, every transposed conv its last input frame; the 'same'
// input conv is run causally and its first look_ahead outputs are dropped, so output lags input
// by look_ahead latent frames until finish() feeds the same zero padding a one-shot decode uses.
// The concatenated output equals ScalarDecoder::decode of the concatenated input (to fp32
// rounding). State lives here; the decoder (the model) stays immutable and shared.
//
// A chunk's ops allocate nothing: activations are carved from a few buffers sized for the longest
// chunk seen, and each chunk shape (input frames, frames dropped) is captured once as a graph on
// backends that capture, so a steady stream is one copy in, one graph replay, one copy out.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <tuple>
#include <vector>

#include "engine/model/codec/scalar_decoder.h"

namespace hs {

class ScalarDecoderStream {
 public:
  // A stream of `batch` channels (2 for stereo) over `decoder`, which must outlive it.
  ScalarDecoderStream(const ScalarDecoder& decoder, std::int64_t batch);
  ~ScalarDecoderStream();

  // Takes latent [batch, latent_channels, n] (n ≥ 0) and returns the audio that is now complete,
  // [batch, 1, m · samples_per_frame]: m = n, less the look-ahead still owed at the start. The
  // returned tensor is the stream's own buffer, valid until the next push or finish.
  Tensor push(const Tensor& latent);
  // Flushes the look-ahead frames; the stream accepts nothing afterwards.
  Tensor finish();
  // push() for several streams at once through this one's buffers and graphs: latent [b·k, C, n]
  // holds stream s's input in rows [b·s, b·(s+1)) (b: their batch). The call computes the first
  // `rows` rows of this stream's batch (b·k ≤ rows ≤ batch; the rest are not read): a caller that
  // keeps to a few row counts keeps to a few graphs, and calls of every size share one set of
  // buffers, sized for the most rows and frames seen. Their carried state is gathered into this
  // stream's rows, run, and handed back, so each stream's audio (rows [b·s, b·(s+1)) of the
  // returned [b·k, 1, m], this stream's buffer) and state are those of its own push. The streams
  // must be on the same decoder, unfinished and owe the same look-ahead; this stream is a
  // workspace (its own state is overwritten).
  Tensor push_many(std::span<ScalarDecoderStream* const> streams, const Tensor& latent, std::int64_t rows);
  // The look-ahead frames a push still drops from the front (same value: push_many can batch them).
  std::int64_t drop_pending() const { return drop_pending_; }
  // Captures, ahead of time, the graphs of a first push of `first` frames and of later pushes of
  // `later` frames over the first `rows` batch rows (0: all), as push_many runs them (no audio is
  // computed; the buffers are sized for the larger and the whole batch).
  void prepare(std::int64_t first, std::int64_t later, std::int64_t rows = 0);
  // Push shapes given a plan so far (each captures its graph on backends that capture).
  std::int64_t plans_made() const { return plans_made_; }

 private:
  struct Buffers;
  struct Plan;
  // Runs the first `rows` batch rows on latent (its rows, the rest as they are).
  Tensor run(const Tensor& latent, std::int64_t rows);
  // Buffers for chunks of up to `frames` input frames over `rows` rows (new ones void the captured
  // graphs).
  void reserve(std::int64_t frames, std::int64_t rows);
  Plan& plan_for(std::int64_t frames, std::int64_t drop, std::int64_t rows);
  void capture_once(Plan& plan);
  // The ops of one chunk on a plan's tensors.
  void enqueue(Plan& plan);
  Tensor empty_audio(std::int64_t rows) const;

  const ScalarDecoder* decoder_;
  Backend* backend_;
  std::int64_t batch_;
  std::int64_t drop_pending_;     // input-conv outputs still to drop (its look-ahead)
  bool finished_ = false;
  std::vector<Tensor> carries_;  // one per conv, in layer order
  std::unique_ptr<Buffers> buffers_;
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::unique_ptr<Plan>> plans_;  // (frames, drop, rows)
  std::int64_t plans_made_ = 0;
};

}  // namespace hs
