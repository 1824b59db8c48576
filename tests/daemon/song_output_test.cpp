// SongOutput and EncoderThreads (daemon/song_output.h, daemon/encoder_threads.h): a song's audio
// encoded off the engine worker comes out byte for byte as when it was encoded in place, in order,
// with its progress after each piece, and the final message after all of it.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/audio/opus_stream_encoder.h"
#include "daemon/encoder_threads.h"
#include "daemon/song_output.h"

namespace hs {
namespace {

using daemon::Container;
using daemon::SongOutput;

// Records what a song's listener hears, in order: "audio" (with the bytes kept) and "progress N".
class Recorder final : public daemon::SongListener {
 public:
  void on_queued(int) override {}
  void on_started(const daemon::StartedInfo&) override {}
  void on_audio(std::span<const std::uint8_t> bytes) override {
    std::lock_guard lock(mutex_);
    if (throw_on_audio) throw std::runtime_error("listener refused the bytes");
    packets.emplace_back(bytes.begin(), bytes.end());
  }
  void on_progress(std::int64_t audio_ms, double) override {
    std::lock_guard lock(mutex_);
    progress.push_back(audio_ms);
  }
  void on_done(const daemon::DoneInfo&) override {}
  void on_error(std::string_view, std::string_view) override {}
  bool ready() const override { return true; }

  bool throw_on_audio = false;
  std::vector<std::vector<std::uint8_t>> packets;
  std::vector<std::int64_t> progress;

 private:
  std::mutex mutex_;
};

// Piece `i` of a song: `frames` samples per channel of a tone whose pitch depends on i.
std::vector<float> piece(int i, std::size_t frames) {
  std::vector<float> pcm(frames * kChannels);
  for (std::size_t n = 0; n < pcm.size(); ++n)
    pcm[n] = 0.3f * std::sin(0.01f * static_cast<float>((i + 1) * (n / kChannels)) + static_cast<float>(n % 2));
  return pcm;
}

// Pieces of uneven length (not multiples of the 20 ms Opus frame), as the codec's chunks are not.
std::vector<std::vector<float>> pieces() {
  std::vector<std::vector<float>> out;
  for (int i = 0; i < 12; ++i) out.push_back(piece(i, 1500 + 733 * static_cast<std::size_t>(i % 5)));
  return out;
}

// The packets of the pieces encoded in place, one push each (what the worker did before).
std::vector<std::vector<std::uint8_t>> in_place(const std::vector<std::vector<float>>& pcm) {
  std::vector<std::vector<std::uint8_t>> packets;
  OpusStreamEncoder encoder([&](std::span<const std::uint8_t> p) { packets.emplace_back(p.begin(), p.end()); });
  for (const auto& p : pcm) encoder.push(p.data(), p.size() / kChannels);
  encoder.finish();
  return packets;
}

TEST(SongOutput, EncoderThreadsGiveTheBytesOfAnInPlaceEncoder) {
  const auto pcm = pieces();
  daemon::Metrics metrics;
  int calls_encoded = 0;  // on the encoder threads, read after wait()
  daemon::EncoderThreads threads(4, [&](double seconds) {
    EXPECT_GE(seconds, 0.0);
    ++calls_encoded;
  });
  // Three songs, each piece handed over as the worker does after a codec call: while the previous
  // call's encoding may still run.
  std::vector<std::shared_ptr<Recorder>> listeners;
  std::vector<std::shared_ptr<SongOutput>> outputs;
  for (int s = 0; s < 3; ++s) {
    listeners.push_back(std::make_shared<Recorder>());
    outputs.push_back(std::make_shared<SongOutput>(Container::OpusPackets, 1, listeners.back(), metrics,
                                                   SongOutput::Clock::now()));
  }
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    for (auto& output : outputs)
      output->add(pcm[i], {.audio_ms = static_cast<std::int64_t>(i), .first_frame_at = SongOutput::Clock::now()});
    threads.encode(outputs);
  }
  threads.wait();
  EXPECT_EQ(calls_encoded, static_cast<int>(pcm.size()));
  for (auto& output : outputs) output->finish();
  const auto expected = in_place(pcm);
  ASSERT_GT(expected.size(), 10u);
  for (const auto& l : listeners) {
    EXPECT_TRUE(l->packets == expected);
    std::vector<std::int64_t> in_order(pcm.size());
    for (std::size_t i = 0; i < in_order.size(); ++i) in_order[i] = static_cast<std::int64_t>(i);
    EXPECT_EQ(l->progress, in_order);
  }
}

// finish() encodes what no encoder thread took yet before it ends the stream: nothing is lost.
TEST(SongOutput, FinishEncodesWhatIsPendingFirst) {
  const auto pcm = pieces();
  daemon::Metrics metrics;
  auto listener = std::make_shared<Recorder>();
  SongOutput output(Container::OpusPackets, 1, listener, metrics, SongOutput::Clock::now());
  for (const auto& p : pcm) output.add(p, {.first_frame_at = SongOutput::Clock::now()});
  output.finish();
  EXPECT_TRUE(listener->packets == in_place(pcm));
  EXPECT_EQ(listener->progress.size(), pcm.size());
  ASSERT_TRUE(output.first_audio_at());
  output.encode();  // an encoder thread that comes late finds nothing
  EXPECT_TRUE(listener->packets == in_place(pcm));
}

// An error while encoding is kept for the worker (which ends the song with it); later pieces are
// dropped rather than sent after the gap.
TEST(SongOutput, AnEncodingErrorIsKeptAndLaterPiecesDropped) {
  const auto pcm = pieces();
  daemon::Metrics metrics;
  auto listener = std::make_shared<Recorder>();
  SongOutput output(Container::OpusPackets, 1, listener, metrics, SongOutput::Clock::now());
  EXPECT_FALSE(output.error());
  output.add(pcm[0], {.first_frame_at = SongOutput::Clock::now()});
  output.encode();
  const std::size_t sent = listener->packets.size();
  ASSERT_GT(sent, 0u);
  listener->throw_on_audio = true;
  output.add(pcm[1], {.first_frame_at = SongOutput::Clock::now()});
  output.encode();
  ASSERT_TRUE(output.error());
  EXPECT_NE(output.error()->find("listener refused the bytes"), std::string::npos) << *output.error();
  listener->throw_on_audio = false;
  output.add(pcm[2], {.first_frame_at = SongOutput::Clock::now()});
  output.close();
  EXPECT_EQ(listener->packets.size(), sent);
  EXPECT_EQ(listener->progress.size(), 1u);
}

}  // namespace
}  // namespace hs
