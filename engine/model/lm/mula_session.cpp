#include "engine/model/lm/mula_session.h"

#include <algorithm>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kStepColumns = kNumCodebooks + 1;  // audio codebooks + text
constexpr std::int64_t kDecoderPositions = kNumCodebooks; // [last_h, E0(c0), …, E6(c6)]
constexpr std::int64_t kDecoderFirstStep = 2;             // [last_h, E0(c0)]

}  // namespace

std::int64_t check_prompt(const Prompt& p, const SessionOptions& o) {
  HS_CHECK(p.tokens.defined() && p.mask.defined(), "prompt has no tokens");
  HS_CHECK(p.tokens.rank() == 3 && p.tokens.dim(2) == kStepColumns && p.tokens.dtype() == DType::I32,
           "prompt tokens must be I32 [B, P, 9], got " + shape_str(p.tokens.shape()));
  HS_CHECK(p.mask.shape() == p.tokens.shape() && p.mask.dtype() == DType::U8,
           "prompt mask must be U8 of the tokens' shape, got " + shape_str(p.mask.shape()));
  const std::int64_t batch = p.batch();
  const bool cfg = o.sampling.cfg_scale != 1.0f;
  if (batch != (cfg ? 2 : 1))
    throw InvalidArgument("prompt has batch " + std::to_string(batch) + " but cfg_scale " +
                          std::to_string(o.sampling.cfg_scale) + " needs " + (cfg ? "2 (cond, uncond)" : "1"));
  HS_CHECK(p.length() >= 1 && p.muq_index >= 0 && p.muq_index < p.length(),
           "prompt muq_index " + std::to_string(p.muq_index) + " outside the prompt");
  HS_CHECK(o.max_frames >= 1, "max_frames must be at least 1");
  return batch;
}

std::int64_t backbone_capacity(const MulaModel& m, const Prompt& p, const SessionOptions& o) {
  const std::int64_t needed = p.length() + o.max_frames - 1;
  const std::int64_t room = m.backbone().max_seq_len - p.length() + 1;  // frames that fit after the prompt
  if (needed > m.backbone().max_seq_len)
    throw InvalidArgument("prompt of " + std::to_string(p.length()) + " tokens + " + std::to_string(o.max_frames) +
                          " frames exceeds the backbone's max_seq_len " + std::to_string(m.backbone().max_seq_len) +
                          (room >= 1 ? " (at most " + std::to_string(room) + " frames for this prompt)"
                                     : " (the prompt alone does not fit: shorten the tags or lyrics)"));
  return needed;
}

MulaSession::MulaSession(const MulaModel& model, const Prompt& prompt, const SessionOptions& options)
    : model_(model), backend_(model.backend()), options_(options), batch_(check_prompt(prompt, options)),
      prompt_length_(prompt.length()),
      backbone_(backend_, model.backbone(), batch_, backbone_capacity(model, prompt, options), prompt.length(),
                backend_.narrow_dtype(model.precision()),
                kv_cache_dtype(options.kv_cache, backend_.narrow_dtype(model.precision()))),
      decoder_(backend_, model.decoder(), batch_, kDecoderPositions, kDecoderFirstStep,
               backend_.narrow_dtype(model.precision()), backend_.narrow_dtype(model.precision())),
      prompt_(model, prompt) {
  HS_CHECK(model.decoder().max_seq_len >= kDecoderPositions, "decoder flavor too short for 8 codebooks");
  const std::int64_t rows = batch_ * prompt_length_, dim = model.backbone().dim, dec_dim = model.decoder().dim;
  const std::int64_t vocab = model.audio_vocab();
  const DType act = backend_.activation_dtype();
  Tensor step_mask = Tensor::zeros({batch_, kStepColumns}, DType::U8), step_uncond = Tensor::zeros({batch_}, DType::U8);
  for (std::int64_t b = 0; b < batch_; ++b) {
    step_uncond.data<std::uint8_t>()[b] = b == 1;  // row 1 of a CFG batch is the unconditional twin
    for (std::int64_t c = 0; c < kNumCodebooks; ++c) step_mask.data<std::uint8_t>()[b * kStepColumns + c] = 1;
  }
  step_mask_ = backend_.upload(step_mask);  // the text column (empty_id) is masked out
  step_uncond_ = backend_.upload(step_uncond);
  step_tokens_ = backend_.alloc({batch_, kStepColumns}, DType::I32);

  std::vector<std::int32_t> positions(static_cast<std::size_t>(prompt_length_));
  for (std::size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<std::int32_t>(i);
  positions_ = backend_.upload(Tensor::from_i32({prompt_length_}, positions));
  step_position_ = backend_.upload(Tensor::from_i32({1}, {static_cast<std::int32_t>(prompt_length_ - 1)}));
  decoder_first_positions_ = backend_.upload(Tensor::from_i32({2}, {0, 1}));
  for (std::int64_t k = 1; k < kNumCodebooks; ++k)
    decoder_positions_[k] = backend_.upload(Tensor::from_i32({1}, {static_cast<std::int32_t>(k + 1)}));

  hidden_ = backend_.alloc({rows, dim}, act);
  hidden_out_ = backend_.alloc({rows, dim}, act);
  last_h_ = backend_.alloc({batch_, dim}, act);
  logits_ = backend_.alloc({batch_, vocab}, act);
  embedding_ = backend_.alloc({1, dim}, act);
  dec_wide_ = backend_.alloc({batch_ * kDecoderFirstStep, dim}, act);
  dec_x_ = backend_.alloc({batch_ * kDecoderFirstStep, dec_dim}, act);
  dec_out_ = backend_.alloc({batch_ * kDecoderFirstStep, dec_dim}, act);
  dec_h_ = backend_.alloc({batch_, dec_dim}, act);
  frame_ = backend_.alloc({kNumCodebooks}, DType::I32);
  guided_ = backend_.alloc({kNumCodebooks, vocab}, act);
  Tensor rng = Tensor::zeros({2}, DType::I64);
  rng.data<std::int64_t>()[0] = static_cast<std::int64_t>(options.seed);
  rng_ = backend_.upload(rng);
}

std::optional<Frame> MulaSession::step(const StepOptions& options) {
  if (broken_) throw InvalidArgument("MulaSession: a previous step was cancelled or failed; start a new session");
  if (frames_done_ >= options_.max_frames)
    throw InvalidArgument("MulaSession: all " + std::to_string(options_.max_frames) + " frames already produced");
  if (options.forced)
    for (auto t : *options.forced)
      HS_CHECK(t >= 0 && t < model_.audio_vocab(), "forced token " + std::to_string(t) + " outside the vocabulary");
  broken_ = true;
  if (frames_done_ == 0) {
    prefill();
    backend_.linear(last_h_, model_.weights().codebook0_head, logits_);
    sample_codebook(0, options);
    if (!depth_decode(options)) return std::nullopt;
  } else if (!options.forced) {
    // Cancellation is honoured at the frame boundary here: a replayed frame runs to its end.
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) return std::nullopt;
    if (!capture_tried_) {
      capture_tried_ = true;
      Tensor sink;  // only its address matters: the graph always writes guided_
      const StepOptions recorded{.guided_logits = &sink};
      frame_graph_ = backend_.capture([&] { next_frame(recorded); });
    }
    if (frame_graph_) backend_.replay(*frame_graph_);
    else next_frame(options);
  } else if (!next_frame(options)) {
    return std::nullopt;
  }

  const Tensor host = backend_.download(frame_);
  Frame frame;
  for (std::int64_t k = 0; k < kNumCodebooks; ++k) frame[k] = host.data<std::int32_t>()[k];
  if (options.guided_logits) *options.guided_logits = backend_.download(guided_);
  ++frames_done_;
  broken_ = false;
  return frame;
}

void MulaSession::prefill() {
  const MulaWeights& w = model_.weights();
  prompt_.embed(hidden_);
  backbone_.forward(backend_, w.backbone, hidden_, positions_, hidden_out_);
  for (std::int64_t b = 0; b < batch_; ++b) {
    const std::int64_t last = (b + 1) * prompt_length_ - 1;
    Tensor dst = last_h_.slice(b, b + 1);
    backend_.copy(hidden_out_.slice(last, last + 1), dst);
  }
}

bool MulaSession::next_frame(const StepOptions& options) {
  feed_back_frame();
  backend_.linear(last_h_, model_.weights().codebook0_head, logits_);
  sample_codebook(0, options);
  return depth_decode(options);
}

void MulaSession::feed_back_frame() {
  const MulaWeights& w = model_.weights();
  Tensor flat = step_tokens_.reshape({batch_ * kStepColumns});
  for (std::int64_t b = 0; b < batch_; ++b) {
    Tensor audio_columns = flat.slice(b * kStepColumns, b * kStepColumns + kNumCodebooks);
    backend_.copy(frame_, audio_columns);
  }
  Tensor x = hidden_.slice(0, batch_);
  // The text column is masked: no text row is read (any table of the audio table's dtype serves).
  backend_.embed_frame(w.audio_embeddings, w.audio_embeddings, w.unconditional_text_embedding,
                       model_.audio_vocab(), step_tokens_, step_mask_, step_uncond_, x);
  // Frame i ≥ 1 is computed from frame i − 1 at position P + i − 1 (step_position_ starts at P − 1).
  backend_.increment(step_position_, 1);
  backbone_.forward(backend_, w.backbone, x, step_position_, last_h_);
}

void MulaSession::sample_codebook(std::int64_t k, const StepOptions& options) {
  Tensor token = frame_.slice(k, k + 1);
  Tensor guided = guided_.slice(k, k + 1).reshape({model_.audio_vocab()});
  SamplingParams params = options_.sampling;
  if (frames_done_ == 0) params.blocked_end = std::max(params.blocked_end, options_.first_frame_blocked_end);
  backend_.sample(logits_, params, rng_, token, options.guided_logits ? &guided : nullptr);
  if (options.forced) write_i32(token, {(*options.forced)[static_cast<std::size_t>(k)]});
}

bool MulaSession::depth_decode(const StepOptions& options) {
  const MulaWeights& w = model_.weights();
  auto cancelled = [&] { return options.cancel && options.cancel->load(std::memory_order_relaxed); };
  const std::int64_t vocab = model_.audio_vocab();
  // First call: [last_h, E0(c0)] per row at positions 0, 1.
  backend_.gather_rows(w.audio_embeddings, frame_.slice(0, 1), 0, embedding_);
  for (std::int64_t b = 0; b < batch_; ++b) {
    Tensor h_row = dec_wide_.slice(2 * b, 2 * b + 1), e_row = dec_wide_.slice(2 * b + 1, 2 * b + 2);
    backend_.copy(last_h_.slice(b, b + 1), h_row);
    backend_.copy(embedding_, e_row);
  }
  backend_.linear(dec_wide_, w.projection, dec_x_);
  decoder_.forward(backend_, w.decoder, dec_x_, decoder_first_positions_, dec_out_);
  for (std::int64_t b = 0; b < batch_; ++b) {
    Tensor dst = dec_h_.slice(b, b + 1);
    backend_.copy(dec_out_.slice(2 * b + 1, 2 * b + 2), dst);
  }
  Tensor wide = dec_wide_.slice(0, batch_), x = dec_x_.slice(0, batch_), out = dec_out_.slice(0, batch_);
  for (std::int64_t k = 1; k < kNumCodebooks; ++k) {
    if (cancelled()) return false;
    backend_.linear(k == 1 ? dec_h_ : out, w.audio_heads[static_cast<std::size_t>(k - 1)], logits_);
    sample_codebook(k, options);
    if (k == kNumCodebooks - 1) break;
    // Next decoder position: E_k(c_k), the same for every row.
    backend_.gather_rows(w.audio_embeddings, frame_.slice(k, k + 1), k * vocab, embedding_);
    for (std::int64_t b = 0; b < batch_; ++b) {
      Tensor row = wide.slice(b, b + 1);
      backend_.copy(embedding_, row);
    }
    backend_.linear(wide, w.projection, x);
    decoder_.forward(backend_, w.decoder, x, decoder_positions_[static_cast<std::size_t>(k)], out);
  }
  return true;
}

void MulaSession::write_i32(Tensor& dst, const std::vector<std::int32_t>& values) {
  backend_.copy(backend_.upload(Tensor::from_i32(dst.shape(), values)), dst);
}

}  // namespace hs
