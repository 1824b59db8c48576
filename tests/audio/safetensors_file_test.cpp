#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "daemon/audio/audio_file.h"
#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

TEST(SafetensorsFile, HoldsTheUnclampedInputAsChannelsByFrames) {
  test::ScratchDir dir;
  const auto path = dir.file("tone.safetensors");
  std::vector<float> tone = test::stereo_tone(test::kToneFrames);
  tone[3] = 1.5f;  // kept as is: this format is for parity checks, not playback
  auto sink = open_audio_file(path);
  test::push_in_chunks(tone, 2, [&](const float* p, std::size_t n) { sink->write(p, n); });
  EXPECT_FALSE(std::filesystem::exists(path)) << "written only at finish";
  sink->finish();

  const SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.contains("wav"));
  const Tensor wav = file.get("wav");
  EXPECT_EQ(wav.dtype(), DType::F32);
  ASSERT_EQ(wav.shape(), (Shape{2, static_cast<std::int64_t>(test::kToneFrames)}));
  const float* data = wav.data<float>();
  for (int c = 0; c < 2; ++c) {
    const std::vector<float> expected = test::channel(tone, 2, c);
    const std::vector<float> got(data + c * test::kToneFrames, data + (c + 1) * test::kToneFrames);
    EXPECT_EQ(got, expected) << "channel " << c;
  }
  EXPECT_EQ(file.metadata().at("sample_rate"), "48000");
}

}  // namespace
}  // namespace hs
