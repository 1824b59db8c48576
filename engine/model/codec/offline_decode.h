// The reference's offline decode (REFERENCE.md "The codec" 4 and 6), kept for parity: codes padded
// by repetition, flow matching per 29.76 s window (372 code frames) every 320 code frames with the
// previous window's last 104 latent frames in context, each window through the scalar decoder,
// overlaps cross-faded linearly. Streaming decoders use FlowMatcher and ScalarDecoderStream directly.
#pragma once

#include <vector>

#include "engine/core/noise.h"
#include "engine/model/codec/codec_model.h"

namespace hs {

inline constexpr std::int64_t kWindowCodeFrames = 372;  // 29.76 s
inline constexpr std::int64_t kHopCodeFrames = 320;
inline constexpr std::int64_t kOverlapCodeFrames = kWindowCodeFrames - kHopCodeFrames;  // 52

// Codes host I32 [Q, N] padded as the reference does: repeated to 372 frames when shorter, then —
// when (len − 104) % 320 > 0 — doubled until at least ceil((len − 52) / 320)·320 + 52 and cut there.
// (Quirk kept for parity: when (len − 104) % 320 == 0 nothing is padded and the frames past the
// last full window are dropped.)
Tensor pad_codes_for_windows(const Tensor& codes);

// Flow-matching latents [744, latent channels] of each window (on the model's backend).
std::vector<Tensor> window_latents(const CodecModel& model, const Tensor& codes, NoiseSource& noise);

// Audio [S, min(code_frames · 3840, rendered length)] from window latents: scalar decoder per
// window, linear cross-fade over each 52-code-frame overlap.
Tensor render_windows(const CodecModel& model, const std::vector<Tensor>& latents, std::int64_t code_frames);

// Both of the above: codes host I32 [Q, N] → audio [S, N · 3840].
Tensor decode_offline(const CodecModel& model, const Tensor& codes, NoiseSource& noise);

}  // namespace hs
