// PCM conventions shared by every audio output: 48 kHz stereo float, interleaved, nominal range
// [-1, 1]. Outputs clamp (and map NaN to silence) before encoding.
#pragma once

#include <cmath>
#include <cstdint>

namespace hs {

inline constexpr int kSampleRateHz = 48000;
inline constexpr int kChannels = 2;
inline constexpr float kPcm16Scale = 32767.0f;

// x clamped to [-1, 1]; NaN becomes 0 so one bad sample cannot poison an encoder's state.
inline float clamp_sample(float x) {
  if (std::isnan(x)) return 0.0f;
  return x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x);
}

// round(clamp(x) * 32767) as a 16-bit PCM sample.
inline std::int16_t to_pcm16(float x) {
  return static_cast<std::int16_t>(std::lround(clamp_sample(x) * kPcm16Scale));
}

}  // namespace hs
