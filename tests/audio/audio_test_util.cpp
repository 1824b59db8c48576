#include "tests/audio/audio_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numbers>
#include <random>
#include <string>

namespace hs::test {

std::vector<float> stereo_tone(std::size_t frames, double gain) {
  std::vector<float> out(frames * 2);
  for (std::size_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / kToneRateHz;
    out[2 * i] = static_cast<float>(gain * kLeftAmplitude *
                                    std::sin(2 * std::numbers::pi * kLeftToneHz * t));
    out[2 * i + 1] = static_cast<float>(gain * kRightAmplitude *
                                        std::sin(2 * std::numbers::pi * kRightToneHz * t));
  }
  return out;
}

void push_in_chunks(std::span<const float> interleaved, int channels,
                    const std::function<void(const float*, std::size_t)>& push) {
  constexpr std::array<std::size_t, 8> kChunkFrames = {1, 7, 959, 961, 4000, 3, 1920, 333};
  const std::size_t frames = interleaved.size() / static_cast<std::size_t>(channels);
  std::size_t done = 0;
  for (std::size_t k = 0; done < frames; ++k) {
    const std::size_t n = std::min(kChunkFrames[k % kChunkFrames.size()], frames - done);
    push(interleaved.data() + done * static_cast<std::size_t>(channels), n);
    done += n;
  }
}

std::vector<float> channel(std::span<const float> interleaved, int channels, int index) {
  std::vector<float> out;
  for (std::size_t i = static_cast<std::size_t>(index); i < interleaved.size();
       i += static_cast<std::size_t>(channels))
    out.push_back(interleaved[i]);
  return out;
}

double tone_amplitude(std::span<const float> x, double freq_hz, int rate_hz) {
  const double coeff = 2 * std::cos(2 * std::numbers::pi * freq_hz / rate_hz);
  double s1 = 0, s2 = 0;
  for (float v : x) {
    const double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 2 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(x.size());
}

double snr_db(std::span<const float> ref, std::span<const float> test) {
  const std::size_t n = std::min(ref.size(), test.size());
  double signal = 0, noise = 0;
  for (std::size_t i = 0; i < n; ++i) {
    signal += double(ref[i]) * ref[i];
    noise += (double(ref[i]) - test[i]) * (double(ref[i]) - test[i]);
  }
  return 10 * std::log10(signal / std::max(noise, 1e-30));
}

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ScratchDir::ScratchDir() {
  std::random_device random;
  path_ = std::filesystem::path(::testing::TempDir()) /
          ("hs_audio_test_" + std::to_string(random()) + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace hs::test
