// Audio output encoders against the clock: seconds of 48 kHz stereo audio encoded per CPU second
// (`rt_factor`; above 1 is faster than real time, on one core) for Opus at 128 kb/s and MP3 at
// 192 kb/s CBR, and the bit rate actually produced (`kbps`). The input is a chord plus noise, so
// the encoders see busy spectra.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "daemon/audio/background_audio_sink.h"
#include "daemon/audio/opus_stream_encoder.h"
#include "daemon/audio/pcm.h"

namespace hs {
namespace {

constexpr int kAudioSeconds = 10;
constexpr std::size_t kFrames = static_cast<std::size_t>(kAudioSeconds) * kSampleRateHz;
constexpr std::size_t kChunkFrames = 3840;  // one 80 ms codec frame, as the decoder pushes them
constexpr double kToneAmplitude = 0.12;
constexpr double kCrossfeed = 0.5;  // each chord tone also reaches the other channel at this gain
constexpr double kNoiseAmplitude = 0.03;

std::vector<float> busy_signal() {
  constexpr double kChordHz[] = {220.0, 277.2, 329.6, 440.0, 1318.5};
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, kNoiseAmplitude);
  std::vector<float> out(kFrames * kChannels);
  for (std::size_t i = 0; i < kFrames; ++i) {
    const double t = static_cast<double>(i) / kSampleRateHz;
    double left = 0, right = 0;
    for (std::size_t k = 0; k < std::size(kChordHz); ++k) {
      const double v = kToneAmplitude * std::sin(2 * std::numbers::pi * kChordHz[k] * t);
      (k % 2 ? right : left) += v;
      (k % 2 ? left : right) += kCrossfeed * v;
    }
    out[2 * i] = static_cast<float>(left + noise(rng));
    out[2 * i + 1] = static_cast<float>(right + noise(rng));
  }
  return out;
}

template <typename Push>
void push_chunks(const std::vector<float>& pcm, Push&& push) {
  for (std::size_t done = 0; done < kFrames; done += kChunkFrames)
    push(pcm.data() + done * kChannels, std::min(kChunkFrames, kFrames - done));
}

void report(benchmark::State& state, std::uint64_t bytes) {
  const auto audio_s = static_cast<double>(state.iterations()) * kAudioSeconds;
  state.counters["rt_factor"] = benchmark::Counter(audio_s, benchmark::Counter::kIsRate);
  state.counters["kbps"] = static_cast<double>(bytes) * 8 / 1000 / audio_s;
}

void BM_OpusEncode128k(benchmark::State& state) {
  const std::vector<float> pcm = busy_signal();
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    OpusStreamEncoder encoder([&](std::span<const std::uint8_t> p) { bytes += p.size(); });
    push_chunks(pcm, [&](const float* p, std::size_t n) { encoder.push(p, n); });
    encoder.finish();
  }
  report(state, bytes);
}
BENCHMARK(BM_OpusEncode128k)->Unit(benchmark::kMillisecond);

// This process's scratch audio file of `extension` in the temporary directory.
std::filesystem::path scratch_file(const char* extension) {
  return std::filesystem::temp_directory_path() / ("hs_bench_audio_" + std::to_string(::getpid()) + extension);
}

// Through the file sink, so the figure includes LAME's flush and the (page-cached) file writes.
void encode_file(benchmark::State& state, const char* extension) {
  const std::vector<float> pcm = busy_signal();
  const auto path = scratch_file(extension);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    auto sink = open_audio_file(path);
    push_chunks(pcm, [&](const float* p, std::size_t n) { sink->write(p, n); });
    sink->finish();
    bytes += std::filesystem::file_size(path);
  }
  std::filesystem::remove(path);
  report(state, bytes);
}

void BM_Mp3File192kCbr(benchmark::State& state) { encode_file(state, ".mp3"); }
BENCHMARK(BM_Mp3File192kCbr)->Unit(benchmark::kMillisecond);

void BM_OggOpusFile128k(benchmark::State& state) { encode_file(state, ".opus"); }
BENCHMARK(BM_OggOpusFile128k)->Unit(benchmark::kMillisecond);

// What `generate --stream`'s frame loop spends on the audio file: the time inside write() only
// (manual time; finish() and the writer thread's encoding not counted), written directly or through
// a BackgroundAudioSink (background:1). `loop_ms_per_frame`: that time per 80 ms codec frame. Fixed
// iterations: with background:1 the timed part is tiny, and an adaptive count would encode for minutes.
void BM_OggOpusFileFrameLoop(benchmark::State& state) {
  const bool background = state.range(0) != 0;
  const std::vector<float> pcm = busy_signal();
  const auto path = scratch_file(".opus");
  double loop_s = 0;
  for (auto _ : state) {
    std::unique_ptr<AudioSink> sink = open_audio_file(path);
    if (background) sink = std::make_unique<BackgroundAudioSink>(std::move(sink), kChannels);
    const auto start = std::chrono::steady_clock::now();
    push_chunks(pcm, [&](const float* p, std::size_t n) { sink->write(p, n); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(s);
    loop_s += s;
    sink->finish();
  }
  std::filesystem::remove(path);
  const double frames = static_cast<double>(state.iterations()) * kFrames / kChunkFrames;
  state.counters["loop_ms_per_frame"] = loop_s * 1000 / frames;
}
BENCHMARK(BM_OggOpusFileFrameLoop)
    ->ArgName("background")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hs

BENCHMARK_MAIN();
