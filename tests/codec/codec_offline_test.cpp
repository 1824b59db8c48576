// The offline decode (window schedule, flow matching with replayed noise, cross-fade) against the
// reference's golden cases: window latents and audio decoded from golden latents at 1e-4, audio
// end to end at relative L2 2e-3 (golden/README.md explains why the latter is looser).
#include <gtest/gtest.h>

#include <string>

#include "engine/core/noise.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/offline_decode.h"
#include "tests/codec/codec_test_util.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

using test::every_16th;
using test::golden_latents;
using test::head;
using test::max_error;
using test::relative_l2;

constexpr double kGoldenTolerance = 1e-4;
constexpr double kEndToEndL2 = 2e-3;

Tensor codes_of(const SafetensorsFile& golden) { return golden.get("codes").clone(); }


TEST(CodecOffline, PaddingFollowsTheReferenceIncludingItsQuirk) {
  auto padded_len = [](std::int64_t n) {
    return pad_codes_for_windows(Tensor::zeros({8, n}, DType::I32)).dim(1);
  };
  EXPECT_EQ(padded_len(40), 372);    // repeated to one window
  EXPECT_EQ(padded_len(372), 372);
  EXPECT_EQ(padded_len(373), 692);   // ceil(321 / 320)·320 + 52
  EXPECT_EQ(padded_len(700), 1012);  // three windows
  EXPECT_EQ(padded_len(744), 744);   // (744 − 104) % 320 == 0: not padded, tail dropped
  const Tensor codes = Tensor::from_i32({1, 5}, {1, 2, 3, 4, 5});
  const Tensor padded = pad_codes_for_windows(codes);
  EXPECT_EQ(padded.data<std::int32_t>()[5], 1);
  EXPECT_EQ(padded.data<std::int32_t>()[371], 2);  // 371 % 5 == 1
}

class CodecOfflineGolden : public ::testing::Test {
 protected:
  void check_case(const std::string& case_name, std::int64_t windows) {
    HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
    HS_REQUIRE_SHARED(case_path, "golden/" + case_name + ".safetensors");
    const CodecModel& model = test::tiny_codec(folder);
    Backend& be = model.backend();
    const auto golden = SafetensorsFile::open(case_path);
    const Tensor codes = codes_of(golden);

    ReplayNoise noise(test::numbered(golden, "noise_"));
    const std::vector<Tensor> latents = window_latents(model, codes, noise);
    EXPECT_EQ(noise.used(), 2u * static_cast<std::size_t>(windows));
    ASSERT_EQ(latents.size(), static_cast<std::size_t>(windows));
    const std::vector<Tensor> expected = golden_latents(model, golden);
    for (std::size_t i = 0; i < latents.size(); ++i) {
      const double err = max_error(be.download(latents[i]), be.download(expected[i]));
      RecordProperty("latent_" + std::to_string(i) + "_max_error", test::scientific(err));
      EXPECT_LE(err, kGoldenTolerance) << "window " << i;
    }

    const Tensor end_to_end = be.download(render_windows(model, latents, codes.dim(1)));
    const Tensor from_golden = be.download(render_windows(model, expected, codes.dim(1)));
    ASSERT_EQ(end_to_end.shape(), (Shape{2, codes.dim(1) * model.samples_per_code_frame()}));
    std::vector<std::pair<std::string, std::pair<Tensor, Tensor>>> views = {
        {"wav_head", {head(end_to_end), head(from_golden)}},
        {"wav_stride16", {every_16th(end_to_end), every_16th(from_golden)}}};
    if (golden.contains("wav")) views.push_back({"wav", {end_to_end, from_golden}});
    for (const auto& [name, got] : views) {
      const Tensor want = golden.get(name);
      ASSERT_EQ(got.first.shape(), want.shape()) << name;
      const double l2 = relative_l2(got.first, want), err = max_error(got.second, want);
      RecordProperty(name + "_end_to_end_relative_l2", test::scientific(l2));
      RecordProperty(name + "_from_golden_latents_max_error", test::scientific(err));
      EXPECT_LE(l2, kEndToEndL2) << name << " end to end";
      EXPECT_LE(err, kGoldenTolerance) << name << " from the golden latents";
    }
  }
};

TEST_F(CodecOfflineGolden, ShortCaseOneRepeatedWindow) { check_case("codec_short", 1); }

TEST_F(CodecOfflineGolden, LongCaseThreeWindowsCrossFaded) { check_case("codec_long", 3); }

}  // namespace
}  // namespace hs
