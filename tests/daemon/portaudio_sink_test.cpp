// The PortAudio sink on ALSA's null device (no sound hardware): opens the default output, plays a
// second of a sine, and names the devices when the one asked for is not there. The LocalPlayer of
// `heartstreamd --play` on a recording sink: plays everything in order, bounds its queue, and
// drops unplayed audio when the song is cancelled.
#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <numbers>
#include <vector>

#include "daemon/audio/pcm.h"
#include "daemon/local_player.h"
#include "daemon/portaudio_sink.h"
#include "tests/daemon/null_audio.h"

namespace hs::test {
namespace {

constexpr double kSineHz = 440.0;
constexpr std::size_t kChunkFrames = 4800;  // 100 ms

std::vector<float> sine(std::size_t frames, std::size_t first_frame) {
  std::vector<float> pcm(frames * kChannels);
  for (std::size_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(first_frame + i) / kSampleRateHz;
    pcm[i * kChannels] = pcm[i * kChannels + 1] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * kSineHz * t));
  }
  return pcm;
}

class PortAudioSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { use_null_audio_device(); }
};

TEST_F(PortAudioSinkTest, PlaysASecondOnTheDefaultDevice) {
  daemon::PortAudioSink sink("");
  EXPECT_EQ(sink.device().name, "default");
  for (std::size_t at = 0; at < kSampleRateHz; at += kChunkFrames) {
    const std::vector<float> pcm = sine(kChunkFrames, at);
    sink.write(pcm.data(), kChunkFrames);
  }
  sink.finish();
}

TEST_F(PortAudioSinkTest, FindsDevicesByNameAndIndex) {
  const daemon::PortAudioLibrary library;
  const daemon::PortAudioDevice by_name = daemon::find_output_device(library, "DEFAU");
  EXPECT_EQ(by_name.name, "default");
  EXPECT_EQ(daemon::find_output_device(library, std::to_string(by_name.index)).name, "default");
}

TEST_F(PortAudioSinkTest, AnUnknownNameListsTheDevices) {
  try {
    daemon::PortAudioSink sink("no-such-card");
    FAIL() << "opened " << sink.device().name;
  } catch (const daemon::PortAudioError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("\"no-such-card\""), std::string::npos) << what;
    EXPECT_NE(what.find("output devices: 0 \"default\" (ALSA)"), std::string::npos) << what;
  }
}

TEST_F(PortAudioSinkTest, AnUnknownIndexListsTheDevices) {
  try {
    daemon::PortAudioSink sink("99");
    FAIL() << "opened " << sink.device().name;
  } catch (const daemon::PortAudioError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no output device with index 99"), std::string::npos) << what;
    EXPECT_NE(what.find("\"default\""), std::string::npos) << what;
  }
}

// Records what it is given; write() blocks until release() so a test controls the player's pace.
class GatedSink final : public AudioSink {
 public:
  void write(const float* interleaved, std::size_t frames) override {
    opened_.wait();
    written.insert(written.end(), interleaved, interleaved + frames * kChannels);
  }
  void finish() override { finished = true; }
  void release() { gate_.set_value(); }

  std::vector<float> written;
  bool finished = false;

 private:
  std::promise<void> gate_;
  std::shared_future<void> opened_ = gate_.get_future().share();
};

std::span<const std::uint8_t> as_bytes(const std::vector<float>& pcm) {
  return {reinterpret_cast<const std::uint8_t*>(pcm.data()), pcm.size() * sizeof(float)};
}

TEST(LocalPlayer, PlaysEverythingInOrderAndBoundsItsQueue) {
  GatedSink sink;
  std::promise<daemon::PlayResult> finished;
  std::promise<double> first_audio;
  {
    daemon::LocalPlayer player(sink, /*queue_frames=*/2 * kChunkFrames,
                               {.on_first_audio = [&](double ms) { first_audio.set_value(ms); },
                                .on_finished = [&](const daemon::PlayResult& r) { finished.set_value(r); }});
    EXPECT_TRUE(player.ready());
    const std::vector<float> a = sine(kChunkFrames, 0), b = sine(kChunkFrames, kChunkFrames),
                             c = sine(kChunkFrames, 2 * kChunkFrames);
    player.on_audio(as_bytes(a));
    player.on_audio(as_bytes(b));
    player.on_audio(as_bytes(c));  // the player thread holds at most one of them, gated
    EXPECT_FALSE(player.ready());
    EXPECT_GE(first_audio.get_future().get(), 0.0);
    player.on_done({"length", 300, 1.0, 0.5});
    sink.release();
    const daemon::PlayResult r = finished.get_future().get();
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.done->reason, "length");
  }
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(sink.written, sine(3 * kChunkFrames, 0));
}

TEST(LocalPlayer, ACancelledSongStopsWithoutPlayingTheRest) {
  GatedSink sink;
  std::promise<daemon::PlayResult> finished;
  daemon::LocalPlayer player(sink, 100 * kChunkFrames,
                             {.on_first_audio = {}, .on_finished = [&](const daemon::PlayResult& r) { finished.set_value(r); }});
  for (int i = 0; i < 10; ++i) player.on_audio(as_bytes(sine(kChunkFrames, 0)));
  player.on_done({"cancelled", 1000, 1.0, 0.5});
  sink.release();
  const daemon::PlayResult r = finished.get_future().get();
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.done->reason, "cancelled");
  EXPECT_FALSE(sink.finished);
  EXPECT_LE(sink.written.size(), kChunkFrames * kChannels);  // at most the chunk already taken
}

TEST(LocalPlayer, AnErrorEndsPlayback) {
  GatedSink sink;
  std::promise<daemon::PlayResult> finished;
  daemon::LocalPlayer player(sink, kChunkFrames,
                             {.on_first_audio = {}, .on_finished = [&](const daemon::PlayResult& r) { finished.set_value(r); }});
  player.on_error("rejected", "too long for the model");
  const daemon::PlayResult r = finished.get_future().get();
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.error, "rejected: too long for the model");
}

}  // namespace
}  // namespace hs::test
