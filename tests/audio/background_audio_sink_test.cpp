#include "daemon/audio/background_audio_sink.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/audio/pcm.h"

namespace hs {
namespace {

// What the wrapped sink saw, kept by the test after the sink is gone.
struct Record {
  std::vector<float> written;
  std::vector<std::thread::id> writers;
  int finishes = 0;
};

// Records its writes; the write numbered `fail_at` (0-based) throws, and every write waits for
// `gate` first when one is given.
class RecordingSink final : public AudioSink {
 public:
  RecordingSink(Record& record, std::shared_future<void> gate = {}, int fail_at = -1)
      : record_(record), gate_(std::move(gate)), fail_at_(fail_at) {}
  void write(const float* interleaved, std::size_t frames) override {
    if (gate_.valid()) gate_.wait();
    if (writes_++ == fail_at_) throw std::runtime_error("disk full at write " + std::to_string(fail_at_));
    record_.written.insert(record_.written.end(), interleaved, interleaved + frames * kChannels);
    record_.writers.push_back(std::this_thread::get_id());
  }
  void finish() override { ++record_.finishes; }

 private:
  Record& record_;
  std::shared_future<void> gate_;
  int fail_at_;
  int writes_ = 0;
};

// Frames `begin`.. of a ramp, interleaved, each sample distinct.
std::vector<float> ramp(std::size_t begin, std::size_t frames) {
  std::vector<float> pcm(frames * kChannels);
  for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<float>(begin * kChannels + i) * 1e-6f;
  return pcm;
}

TEST(BackgroundAudioSink, WritesEverythingInOrderOnItsOwnThread) {
  Record record;
  BackgroundAudioSink sink(std::make_unique<RecordingSink>(record), kChannels);
  std::size_t frames = 0;
  for (std::size_t n : {1, 3840, 0, 7, 19200, 480}) {
    const std::vector<float> pcm = ramp(frames, n);
    sink.write(pcm.data(), n);
    frames += n;
  }
  sink.finish();
  EXPECT_EQ(record.written, ramp(0, frames));
  EXPECT_EQ(record.finishes, 1);
  EXPECT_EQ(sink.frames_written(), static_cast<std::int64_t>(frames));
  EXPECT_TRUE(sink.first_written_at().has_value());
  ASSERT_FALSE(record.writers.empty());
  for (const std::thread::id id : record.writers) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(BackgroundAudioSink, WriteReturnsWhileTheWrappedSinkIsBusy) {
  Record record;
  std::promise<void> open;
  BackgroundAudioSink sink(std::make_unique<RecordingSink>(record, open.get_future().share()), kChannels);
  const std::vector<float> pcm = ramp(0, 3840);
  for (int i = 0; i < 4; ++i) sink.write(pcm.data(), 3840);  // would never return if written here
  EXPECT_EQ(sink.frames_written(), 0);
  EXPECT_FALSE(sink.first_written_at().has_value());
  open.set_value();
  sink.finish();
  EXPECT_EQ(sink.frames_written(), 4 * 3840);
}

TEST(BackgroundAudioSink, AFailedWriteIsRethrownAndNothingAfterItIsWritten) {
  Record record;
  std::promise<void> open;
  BackgroundAudioSink sink(std::make_unique<RecordingSink>(record, open.get_future().share(), /*fail_at=*/1),
                           kChannels);
  const std::vector<float> pcm = ramp(0, 10);
  for (int i = 0; i < 3; ++i) sink.write(pcm.data(), 10);
  open.set_value();
  try {
    sink.finish();
    FAIL() << "finish() after a failed write returned";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "disk full at write 1");
  }
  EXPECT_EQ(record.written, pcm);
  EXPECT_EQ(record.finishes, 0);
}

TEST(BackgroundAudioSink, WritesAfterAFailureThrowAtOnce) {
  Record record;
  BackgroundAudioSink sink(std::make_unique<RecordingSink>(record, std::shared_future<void>{}, /*fail_at=*/0),
                           kChannels);
  const std::vector<float> pcm = ramp(0, 10);
  sink.write(pcm.data(), 10);
  bool thrown = false;
  for (int i = 0; i < 10000 && !thrown; ++i) {  // the failure surfaces once the thread has met it
    try {
      sink.write(pcm.data(), 10);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } catch (const std::runtime_error& e) {
      thrown = true;
      EXPECT_EQ(std::string(e.what()), "disk full at write 0");
    }
  }
  EXPECT_TRUE(thrown);
  EXPECT_TRUE(record.written.empty());
}

TEST(BackgroundAudioSink, DestroyedWithoutFinishWritesWhatWasQueuedButDoesNotFinish) {
  Record record;
  {
    BackgroundAudioSink sink(std::make_unique<RecordingSink>(record), kChannels);
    const std::vector<float> pcm = ramp(0, 100);
    sink.write(pcm.data(), 100);
  }
  EXPECT_EQ(record.written, ramp(0, 100));
  EXPECT_EQ(record.finishes, 0);
}

}  // namespace
}  // namespace hs
