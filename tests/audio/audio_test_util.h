// Shared by the audio tests: a known stereo signal, irregular chunking, a scratch folder, and
// signal measures computed independently of the code under test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

namespace hs::test {

inline constexpr int kToneRateHz = 48000;
inline constexpr double kLeftToneHz = 440.0;
inline constexpr double kRightToneHz = 1000.0;
inline constexpr double kLeftAmplitude = 0.5;
inline constexpr double kRightAmplitude = 0.4;
inline constexpr std::size_t kToneFrames = 62'400;  // 1.3 s at 48 kHz, not a multiple of 960

// Interleaved stereo: left a 440 Hz sine, right a 1 kHz sine, both scaled by `gain`.
std::vector<float> stereo_tone(std::size_t frames, double gain = 1.0);

// Calls `push(pointer, frames)` over `interleaved` in irregular chunk sizes (1, 7, 959, 961, ...).
void push_in_chunks(std::span<const float> interleaved, int channels,
                    const std::function<void(const float*, std::size_t)>& push);

// One channel of an interleaved buffer.
std::vector<float> channel(std::span<const float> interleaved, int channels, int index);

// Amplitude of the `freq_hz` component of x (Goertzel over the whole span; a pure sine of
// amplitude A whose frequency fits the window gives ≈ A).
double tone_amplitude(std::span<const float> x, double freq_hz, int rate_hz);

// 10·log10(Σ ref² / Σ (ref − test)²) over the common length.
double snr_db(std::span<const float> ref, std::span<const float> test);

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path);

// A fresh folder under the test temp dir, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const char* name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace hs::test
