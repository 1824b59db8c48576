#include "clients/cli/quality/audio_quality.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <string>

#include "engine/core/error.h"

namespace hs::cli {
namespace {

constexpr double kMsPerSecond = 1000.0;
// The HTK mel scale: mel = kMelScale · log10(1 + hz / kMelBreakHz).
constexpr double kMelScale = 2595.0;
constexpr double kMelBreakHz = 700.0;

double hz_to_mel(double hz) { return kMelScale * std::log10(1.0 + hz / kMelBreakHz); }
double mel_to_hz(double mel) { return kMelBreakHz * (std::pow(10.0, mel / kMelScale) - 1.0); }

// Triangular HTK mel filters over the FFT's bins, kMelBands × bins, from 0 Hz to Nyquist.
std::vector<double> mel_filters(double sample_rate_hz, std::int64_t bins) {
  std::vector<double> edges_hz(kMelBands + 2);
  const double top = hz_to_mel(sample_rate_hz / 2);
  for (std::size_t i = 0; i < edges_hz.size(); ++i)
    edges_hz[i] = mel_to_hz(top * static_cast<double>(i) / static_cast<double>(kMelBands + 1));
  std::vector<double> filters(static_cast<std::size_t>(kMelBands * bins), 0.0);
  const double bin_hz = sample_rate_hz / static_cast<double>(kMelFftSize);
  for (std::int64_t m = 0; m < kMelBands; ++m) {
    const double lo = edges_hz[m], mid = edges_hz[m + 1], hi = edges_hz[m + 2];
    for (std::int64_t b = 0; b < bins; ++b) {
      const double f = static_cast<double>(b) * bin_hz;
      const double w = f <= mid ? (f - lo) / (mid - lo) : (hi - f) / (hi - mid);
      filters[static_cast<std::size_t>(m * bins + b)] = std::max(0.0, w);
    }
  }
  return filters;
}

void check_audio(const Tensor& audio, const char* what) {
  if (audio.dtype() != DType::F32 || audio.rank() != 2 || audio.dim(0) < 1)
    throw InvalidArgument(std::string(what) + " audio is " + std::string(dtype_name(audio.dtype())) + " " +
                          shape_str(audio.shape()) + ", expected F32 [channels, samples]");
}

}  // namespace

LogMel log_mel(const Tensor& audio, double sample_rate_hz) {
  check_audio(audio, "log_mel:");
  const std::int64_t channels = audio.dim(0), samples = audio.dim(1);
  if (samples < kMelFftSize)
    throw InvalidArgument("log_mel: " + std::to_string(samples) + " samples, fewer than one FFT of " +
                          std::to_string(kMelFftSize));
  const auto hop = static_cast<std::int64_t>(sample_rate_hz * kMelHopMs / kMsPerSecond);
  const std::int64_t bins = kMelFftSize / 2 + 1;
  const std::vector<double> filters = mel_filters(sample_rate_hz, bins);
  std::vector<double> window(kMelFftSize);
  for (std::int64_t i = 0; i < kMelFftSize; ++i)
    window[i] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(kMelFftSize));

  const std::unique_ptr<double, decltype(&fftw_free)> in(fftw_alloc_real(kMelFftSize), fftw_free);
  const std::unique_ptr<fftw_complex, decltype(&fftw_free)> out(fftw_alloc_complex(bins), fftw_free);
  const std::unique_ptr<fftw_plan_s, decltype(&fftw_destroy_plan)> plan(
      fftw_plan_dft_r2c_1d(static_cast<int>(kMelFftSize), in.get(), out.get(), FFTW_ESTIMATE), fftw_destroy_plan);

  LogMel mel;
  mel.frames = 1 + (samples - kMelFftSize) / hop;
  mel.db.resize(static_cast<std::size_t>(mel.frames * kMelBands));
  const float* x = audio.data<float>();
  std::vector<double> power(static_cast<std::size_t>(bins));
  for (std::int64_t f = 0; f < mel.frames; ++f) {
    for (std::int64_t i = 0; i < kMelFftSize; ++i) {
      double mono = 0;
      for (std::int64_t c = 0; c < channels; ++c) mono += x[c * samples + f * hop + i];
      in.get()[i] = window[i] * mono / static_cast<double>(channels);
    }
    fftw_execute(plan.get());
    for (std::int64_t b = 0; b < bins; ++b) power[b] = out.get()[b][0] * out.get()[b][0] + out.get()[b][1] * out.get()[b][1];
    for (std::int64_t m = 0; m < kMelBands; ++m) {
      double e = 0;
      for (std::int64_t b = 0; b < bins; ++b) e += filters[static_cast<std::size_t>(m * bins + b)] * power[b];
      mel.db[static_cast<std::size_t>(f * kMelBands + m)] = static_cast<float>(10.0 * std::log10(std::max(e, kMelFloorPower)));
    }
  }
  return mel;
}

AudioDistance audio_distance(const Tensor& test, const Tensor& reference, double sample_rate_hz) {
  check_audio(test, "test");
  check_audio(reference, "reference");
  if (test.shape() != reference.shape())
    throw InvalidArgument("audio " + shape_str(test.shape()) + " compared with " + shape_str(reference.shape()));
  double error_sq = 0, reference_sq = 0;
  const float* a = test.data<float>();
  const float* b = reference.data<float>();
  for (std::int64_t i = 0; i < test.numel(); ++i) {
    error_sq += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
    reference_sq += double{b[i]} * b[i];
  }
  AudioDistance d;
  if (error_sq > 0) d.snr_db = 10.0 * std::log10(reference_sq / error_sq);
  d.relative_l2 = reference_sq > 0 ? std::sqrt(error_sq / reference_sq) : std::sqrt(error_sq);
  const LogMel mt = log_mel(test, sample_rate_hz), mr = log_mel(reference, sample_rate_hz);
  double sum = 0;
  for (std::int64_t f = 0; f < mr.frames; ++f) {
    double sq = 0;
    for (std::int64_t m = 0; m < kMelBands; ++m) sq += (double{mt.at(f, m)} - mr.at(f, m)) * (double{mt.at(f, m)} - mr.at(f, m));
    sum += std::sqrt(sq / kMelBands);
  }
  d.log_mel_distance_db = sum / static_cast<double>(mr.frames);
  return d;
}

}  // namespace hs::cli
