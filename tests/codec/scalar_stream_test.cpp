// ScalarDecoderStream: chunked decoding equals one ScalarDecoder::decode call on the same latents.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/core/error.h"
#include "engine/model/codec/scalar_decoder_stream.h"
#include "tests/codec/codec_test_util.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

using test::max_error;

constexpr double kStreamTolerance = 5e-6;  // fp32 rounding of differently shaped GEMMs (seen: 8e-7)
constexpr std::int64_t kFrames = 40;
constexpr std::int64_t kStereo = 2;

// Frames [begin, begin + n) of latent [B, C, T], on the host.
Tensor frames_of(const Tensor& latent, std::int64_t begin, std::int64_t n) {
  const std::int64_t rows = latent.dim(0) * latent.dim(1), len = latent.dim(2);
  Tensor out = Tensor::zeros({latent.dim(0), latent.dim(1), n}, DType::F32);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < n; ++j) out.data<float>()[r * n + j] = latent.data<float>()[r * len + begin + j];
  return out;
}

// Concatenates host audio chunks [B, 1, n_i] along time.
Tensor concat(const std::vector<Tensor>& chunks, std::int64_t batch) {
  std::int64_t total = 0;
  for (const Tensor& c : chunks) total += c.dim(2);
  Tensor out = Tensor::zeros({batch, 1, total}, DType::F32);
  std::int64_t at = 0;
  for (const Tensor& c : chunks) {
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t j = 0; j < c.dim(2); ++j)
        out.data<float>()[b * total + at + j] = c.data<float>()[b * c.dim(2) + j];
    at += c.dim(2);
  }
  return out;
}

class ScalarDecoderStreamTest : public ::testing::Test {
 protected:
  // Latents with values spread over many rounding cells of the 1/9 grid.
  static Tensor random_latent(std::int64_t frames) {
    std::mt19937 gen(5);
    return test::random_tensor({kStereo, 128, frames}, gen, 0.7f);
  }

  // Streams `latent` in chunks of the given sizes (cycled) and compares with one decode call.
  static void expect_stream_matches(const ScalarDecoder& decoder, const Tensor& latent,
                                    const std::vector<std::int64_t>& sizes) {
    Backend& be = decoder.backend();
    const Tensor whole = be.download(decoder.decode(be.upload(latent)));
    ScalarDecoderStream stream(decoder, kStereo);
    std::vector<Tensor> chunks;
    std::int64_t pushed = 0, emitted = 0;
    for (std::size_t i = 0; pushed < latent.dim(2); ++i) {
      const std::int64_t n = std::min(sizes[i % sizes.size()], latent.dim(2) - pushed);
      chunks.push_back(be.download(stream.push(be.upload(frames_of(latent, pushed, n)))));
      pushed += n;
      emitted += chunks.back().dim(2);
      // Output lags input by the look-ahead only.
      EXPECT_EQ(emitted, std::max<std::int64_t>(0, pushed - decoder.look_ahead_frames()) * decoder.samples_per_frame());
    }
    chunks.push_back(be.download(stream.finish()));
    const Tensor streamed = concat(chunks, kStereo);
    ASSERT_EQ(streamed.shape(), whole.shape());
    EXPECT_LE(max_error(streamed, whole), kStreamTolerance);
  }
};

TEST_F(ScalarDecoderStreamTest, ChunkedEqualsOneCall) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  const ScalarDecoder& decoder = test::tiny_codec(folder).decoder();
  const Tensor latent = random_latent(kFrames);
  for (const std::vector<std::int64_t>& sizes :
       std::vector<std::vector<std::int64_t>>{{1}, {2}, {3}, {7}, {16}, {5, 1, 9, 2, 0, 13}}) {
    SCOPED_TRACE("chunk sizes starting " + std::to_string(sizes.front()) + " (" + std::to_string(sizes.size()) +
                 " sizes)");
    expect_stream_matches(decoder, latent, sizes);
  }
}

TEST_F(ScalarDecoderStreamTest, ShortInputsFlushOnFinish) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  const ScalarDecoder& decoder = test::tiny_codec(folder).decoder();
  expect_stream_matches(decoder, random_latent(1), {1});
  expect_stream_matches(decoder, random_latent(2), {2});
}

TEST_F(ScalarDecoderStreamTest, RejectsWrongShapesAndUseAfterFinish) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  const ScalarDecoder& decoder = test::tiny_codec(folder).decoder();
  Backend& be = decoder.backend();
  ScalarDecoderStream stream(decoder, kStereo);
  EXPECT_THROW(stream.push(be.alloc({1, 128, 4}, DType::F32)), InvalidArgument);
  EXPECT_THROW(stream.push(be.alloc({kStereo, 127, 4}, DType::F32)), InvalidArgument);
  stream.finish();
  EXPECT_THROW(stream.push(be.alloc({kStereo, 128, 4}, DType::F32)), InvalidArgument);
  EXPECT_THROW(stream.finish(), InvalidArgument);
}

}  // namespace
}  // namespace hs
