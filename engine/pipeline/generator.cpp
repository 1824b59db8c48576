#include "engine/pipeline/generator.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/error.h"

namespace hs {

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::Eos: return "eos";
    case StopReason::Length: return "length";
    case StopReason::Cancelled: return "cancelled";
  }
  return "unknown";
}

std::int64_t max_frames_for(std::int64_t max_audio_length_ms) {
  if (max_audio_length_ms < 0)
    throw InvalidArgument("max_audio_length_ms " + std::to_string(max_audio_length_ms) + " is negative");
  return 1 + max_audio_length_ms / kFrameMs;
}

SessionOptions session_options(const GenerationRequest& request, const GenConfig& gen, std::int64_t max_frames,
                                std::int64_t vocab) {
  if (request.codebook_size < 0)
    throw InvalidArgument("codebook_size " + std::to_string(request.codebook_size) + " is negative");
  SessionOptions options{request.sampling, request.seed, max_frames};
  options.kv_cache = request.kv_cache;
  if (request.codebook_size > 0 && request.codebook_size < vocab) {
    options.sampling.blocked_begin = static_cast<std::int32_t>(request.codebook_size);
    options.sampling.blocked_end = std::max(gen.audio_eos_id, options.sampling.blocked_begin);
    options.first_frame_blocked_end = static_cast<std::int32_t>(vocab);  // frame 0 never ends the song
  }
  return options;
}

Generator::Generator(std::shared_ptr<const MulaModel> model, const GenConfig& gen, const GenerationRequest& request,
                     FrameBatch* batch)
    : model_(std::move(model)), audio_eos_id_(gen.audio_eos_id),
      max_frames_(max_frames_for(request.max_audio_length_ms)), prompt_(request.prompt),
      options_(session_options(request, gen, max_frames_, model_->audio_vocab())), batch_(batch) {
  if (!batch_) {
    session_.emplace(*model_, prompt_, options_);
    return;
  }
  HS_CHECK(batch_->model_ == model_, "Generator: the FrameBatch runs another model");
  check_prompt(prompt_, options_);
  backbone_capacity(*model_, prompt_, options_);
}

Generator::~Generator() {
  if (slot_ >= 0) batch_->batch_.leave(slot_);
}

void Generator::end(StopReason reason) {
  reason_ = reason;
  if (slot_ >= 0) batch_->batch_.leave(std::exchange(slot_, -1));
}

bool Generator::awaits_frame() const {
  return slot_ >= 0 && frames_emitted_ > 0 && !reason_ && !delivered_ && frames_emitted_ < max_frames_ &&
         !cancel_.load(std::memory_order_relaxed);
}

std::optional<Frame> Generator::frame_from_session() {
  if (session_) return session_->step({.cancel = &cancel_});
  if (frames_emitted_ == 0) return std::exchange(first_, std::nullopt);
  if (!delivered_) throw InvalidArgument("Generator: FrameBatch::step delivered no frame to this song");
  return std::exchange(delivered_, std::nullopt);
}

std::optional<Frame> Generator::next() {
  if (reason_) return std::nullopt;
  if (cancel_.load(std::memory_order_relaxed)) {
    end(StopReason::Cancelled);
    return std::nullopt;
  }
  if (frames_emitted_ == max_frames_) {
    end(StopReason::Length);
    return std::nullopt;
  }
  if (batch_ && frames_emitted_ == 0) {
    if (slot_ < 0) slot_ = batch_->batch_.begin(prompt_, options_);
    first_ = batch_->prefill(slot_);
    if (!first_) return std::nullopt;  // prefilling(): the prompt goes on at the next call
  }
  const std::optional<Frame> frame = frame_from_session();
  if (!frame) {
    end(StopReason::Cancelled);
    return std::nullopt;
  }
  // As the reference: frame 0 is always kept; a later frame holding an EOS token ends the stream.
  const bool eos = std::any_of(frame->begin(), frame->end(), [&](std::int32_t t) { return t >= audio_eos_id_; });
  if (frames_emitted_ > 0 && eos) {
    end(StopReason::Eos);
    return std::nullopt;
  }
  ++frames_emitted_;
  return frame;
}

StopReason Generator::run(const std::function<void(const Frame&)>& sink) {
  while (const auto frame = next()) sink(*frame);
  return *reason_;
}

}  // namespace hs

namespace hs {

FrameBatch::FrameBatch(std::shared_ptr<const MulaModel> model, const BatchOptions& options, std::int64_t prefill_budget)
    : model_(std::move(model)), batch_(*model_, options), prefill_budget_(prefill_budget), budget_left_(prefill_budget) {
  HS_CHECK(prefill_budget >= 0, "FrameBatch: negative prefill budget");
}

std::optional<Frame> FrameBatch::prefill(std::int64_t slot) {
  if (prefill_budget_ == 0) return batch_.prefill(slot);
  if (budget_left_ == 0) return std::nullopt;
  const std::int64_t before = batch_.prefill_left(slot);
  std::optional<Frame> first = batch_.prefill(slot, budget_left_);
  budget_left_ -= before - batch_.prefill_left(slot);
  return first;
}

void FrameBatch::step(std::span<Generator* const> generators) {
  budget_left_ = prefill_budget_;
  std::vector<std::int64_t> slots;
  std::vector<Generator*> by_slot(static_cast<std::size_t>(batch_.slots()), nullptr);
  for (Generator* g : generators) {
    HS_CHECK(g->batch_ == this, "FrameBatch::step: a generator made on another batch");
    if (!g->awaits_frame()) continue;
    slots.push_back(g->slot_);
    by_slot[static_cast<std::size_t>(g->slot_)] = g;
  }
  for (const auto& [slot, frame] : batch_.step(slots)) by_slot[static_cast<std::size_t>(slot)]->delivered_ = frame;
}

}  // namespace hs
