// How far one rendering of a song's audio is from another (`heartstream quality`): SNR, relative
// L2 and the log-mel spectral distance, over planar host audio [channels, samples]. The log-mel
// spectrogram (FFTW's real FFT, Hann window, HTK mel filters) also feeds the report's PNG.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/core/tensor.h"

namespace hs::cli {

inline constexpr std::int64_t kMelFftSize = 2048;  // 42.7 ms at 48 kHz
inline constexpr std::int64_t kMelHopMs = 10;
inline constexpr std::int64_t kMelBands = 80;
inline constexpr double kMelFloorPower = 1e-10;  // −100 dB: silence does not become −∞

// A log-mel spectrogram of the channels' mean: frames × kMelBands values in dB (10·log10 power).
struct LogMel {
  std::int64_t frames = 0;
  std::vector<float> db;  // frame-major
  float at(std::int64_t frame, std::int64_t band) const { return db[static_cast<std::size_t>(frame * kMelBands + band)]; }
};

// `audio` host F32 [C, N] at `sample_rate_hz`; InvalidArgument when it is shorter than one FFT.
LogMel log_mel(const Tensor& audio, double sample_rate_hz);

struct AudioDistance {
  std::optional<double> snr_db;     // 10·log10(Σ ref² / Σ (test − ref)²); absent when identical (∞)
  double relative_l2 = 0;           // ‖test − ref‖ / ‖ref‖
  double log_mel_distance_db = 0;   // mean over frames of the RMS over bands of the dB difference
};

// `test` against `reference`: host F32 [C, N] each, the same shape (InvalidArgument otherwise).
AudioDistance audio_distance(const Tensor& test, const Tensor& reference, double sample_rate_hz);

}  // namespace hs::cli
