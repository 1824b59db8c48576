#include "engine/pipeline/teacher_forcing.h"

#include <algorithm>
#include <memory>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

// The sampler's parameters at frame `index` (frame 0 blocks more: MulaSession::sample_codebook).
SamplingParams frame_sampling(const SessionOptions& options, std::int64_t index) {
  SamplingParams p = options.sampling;
  if (index == 0) p.blocked_end = std::max(p.blocked_end, options.first_frame_blocked_end);
  return p;
}

void check_vocab(const MulaModel& reference, const MulaModel& test) {
  if (test.audio_vocab() != reference.audio_vocab())
    throw InvalidArgument("teacher forcing: a model with " + std::to_string(test.audio_vocab()) +
                          " audio ids against a reference with " + std::to_string(reference.audio_vocab()));
}

}  // namespace

TeacherForcingResult teacher_force(const MulaModel& reference, std::span<const MulaModel* const> tests,
                                   const GenConfig& gen, const GenerationRequest& request, std::int64_t kept_frames) {
  const std::int64_t max_frames = max_frames_for(request.max_audio_length_ms);
  const SessionOptions options = session_options(request, gen, max_frames, reference.audio_vocab());
  SessionOptions ref_options = options;
  ref_options.kv_cache = KvCache::Auto;
  MulaSession ref_session(reference, request.prompt, ref_options);
  std::vector<std::unique_ptr<MulaSession>> sessions;
  for (const MulaModel* test : tests) {
    check_vocab(reference, *test);
    sessions.push_back(std::make_unique<MulaSession>(*test, request.prompt, options));
  }
  TeacherForcingResult result;
  result.tests.resize(tests.size());
  for (std::int64_t i = 0; i < max_frames; ++i) {
    Tensor ref_logits;
    const Frame frame = *ref_session.step({.guided_logits = &ref_logits});
    // As Generator::next: frame 0 is always kept, a later frame holding an EOS id ends the song.
    if (i > 0 && std::any_of(frame.begin(), frame.end(), [&](std::int32_t t) { return t >= gen.audio_eos_id; })) {
      result.reason = StopReason::Eos;
      break;
    }
    for (std::size_t t = 0; t < sessions.size(); ++t) {
      Tensor logits;
      sessions[t]->step({.forced = &frame, .guided_logits = &logits});
      result.tests[t].add_frame(logits, ref_logits, frame_sampling(options, i));
    }
    result.frames.push_back(frame);
    if (i < kept_frames) result.reference_logits.push_back(std::move(ref_logits));
  }
  return result;
}

LogitReport teacher_force_prefix(const MulaModel& model, const GenConfig& gen, const GenerationRequest& request,
                                 std::span<const Frame> frames, std::span<const Tensor> reference_logits) {
  if (reference_logits.size() > frames.size())
    throw InvalidArgument("teacher_force_prefix: " + std::to_string(reference_logits.size()) +
                          " frames of reference logits for " + std::to_string(frames.size()) + " frames");
  const std::int64_t max_frames = max_frames_for(request.max_audio_length_ms);
  const SessionOptions options = session_options(request, gen, max_frames, model.audio_vocab());
  MulaSession session(model, request.prompt, options);
  LogitReport report;
  for (std::size_t i = 0; i < reference_logits.size(); ++i) {
    Tensor logits;
    session.step({.forced = &frames[i], .guided_logits = &logits});
    report.add_frame(logits, reference_logits[i], frame_sampling(options, static_cast<std::int64_t>(i)));
  }
  return report;
}

}  // namespace hs
