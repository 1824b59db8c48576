// StreamingDecoder on the tiny golden codec: output length, independence from the push pattern,
// the chunk latents against direct FlowMatcher calls (first chunk, and a later one with its
// in-context prefix), the audio against a one-shot decode of the same latents (no seams), errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/noise.h"
#include "engine/io/safetensors.h"
#include "engine/pipeline/streaming_decoder.h"
#include "tests/codec/codec_test_util.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

using test::max_error;

constexpr std::uint64_t kSeed = 42;
constexpr std::int64_t kSamplesPerFrame = 3840;  // 80 ms at 48 kHz
constexpr std::int64_t kStereo = 2;
constexpr double kSameComputation = 1e-6;  // identical ops on identical inputs (seen: 0)
constexpr double kStreamTolerance = 5e-6;  // ScalarDecoderStream vs one-shot decode (fp32 rounding)

StreamingDecoderOptions chunking(std::int64_t chunk, std::int64_t context) {
  StreamingDecoderOptions options;
  options.chunk_frames = chunk;
  options.context_frames = context;
  return options;
}

struct Case {
  const CodecModel* model;
  Tensor codes;  // host I32 [8, T]
};

Case load(const std::filesystem::path& golden, const std::string& file, std::int64_t max_frames) {
  const Tensor all = SafetensorsFile::open(golden / file).get("codes");
  const std::int64_t q = all.dim(0), n = std::min(all.dim(1), max_frames);
  Tensor codes = Tensor::zeros({q, n}, DType::I32);
  for (std::int64_t k = 0; k < q; ++k)
    for (std::int64_t t = 0; t < n; ++t) codes.data<std::int32_t>()[k * n + t] = all.data<std::int32_t>()[k * all.dim(1) + t];
  return {&test::tiny_codec(golden / "codec-tiny"), codes};
}

std::vector<std::int32_t> frame(const Tensor& codes, std::int64_t t) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(codes.dim(0)));
  for (std::int64_t k = 0; k < codes.dim(0); ++k) out[static_cast<std::size_t>(k)] = codes.data<std::int32_t>()[k * codes.dim(1) + t];
  return out;
}

// Columns [begin, end) of host I32 [Q, T].
Tensor columns(const Tensor& codes, std::int64_t begin, std::int64_t end) {
  Tensor out = Tensor::zeros({codes.dim(0), end - begin}, DType::I32);
  for (std::int64_t k = 0; k < codes.dim(0); ++k)
    for (std::int64_t t = begin; t < end; ++t)
      out.data<std::int32_t>()[k * (end - begin) + t - begin] = codes.data<std::int32_t>()[k * codes.dim(1) + t];
  return out;
}

// Pushes every frame and finishes; pulls after each push when `pull_each`.
std::vector<float> stream_all(const Case& c, const StreamingDecoderOptions& options, bool pull_each) {
  GaussianNoise noise(kSeed);
  StreamingDecoder decoder(*c.model, noise, options);
  std::vector<float> out;
  for (std::int64_t t = 0; t < c.codes.dim(1); ++t) {
    decoder.push(frame(c.codes, t));
    if (pull_each) {
      const auto part = decoder.pull();
      out.insert(out.end(), part.begin(), part.end());
    }
  }
  decoder.finish();
  const auto rest = decoder.pull();
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

TEST(StreamingDecoder, OutputHasFramesTimes3840SamplesPerChannel) {
  HS_REQUIRE_SHARED(golden, "golden");
  for (const auto& [file, frames, chunk, context] :
       {std::tuple{"codec_short.safetensors", 40, 16, 8}, std::tuple{"codec_long.safetensors", 75, 32, 16},
        std::tuple{"codec_long.safetensors", 9, 1, 3}}) {
    const Case c = load(golden, file, frames);
    const auto pcm = stream_all(c, chunking(chunk, context), true);
    EXPECT_EQ(static_cast<std::int64_t>(pcm.size()), frames * kSamplesPerFrame * kStereo) << file << " C=" << chunk;
    EXPECT_TRUE(std::all_of(pcm.begin(), pcm.end(), [](float x) { return std::isfinite(x); }));
  }
}

TEST(StreamingDecoder, AudioComesOutBeforeFinish) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  GaussianNoise noise(kSeed);
  StreamingDecoder decoder(*c.model, noise, chunking(8, 4));
  for (std::int64_t t = 0; t < 7; ++t) decoder.push(frame(c.codes, t));
  EXPECT_TRUE(decoder.pull().empty());  // the first chunk is not full yet
  decoder.push(frame(c.codes, 7));
  // 8 frames = 16 latent frames, less the 2 of look-ahead (one code frame's audio) still owed.
  EXPECT_EQ(static_cast<std::int64_t>(decoder.pull().size()), (8 - 1) * kSamplesPerFrame * kStereo);
}

TEST(StreamingDecoder, OutputDoesNotDependOnHowFramesArePushed) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  const StreamingDecoderOptions options = chunking(12, 6);
  EXPECT_EQ(stream_all(c, options, true), stream_all(c, options, false));
}

// A first chunk of 3 frames, C = 8: audio comes out at frames 3, 6, 12, 20, 28 (each later chunk
// at most the frames before it, then C), each chunk's audio less the first's look-ahead frame.
TEST(StreamingDecoder, AShortFirstChunkStartsTheAudioEarlierAndLaterChunksGrow) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  StreamingDecoderOptions options = chunking(8, 4);
  options.first_chunk_frames = 3;
  GaussianNoise noise(kSeed);
  StreamingDecoder decoder(*c.model, noise, options);
  std::vector<std::pair<std::int64_t, std::int64_t>> out;  // (frames pushed, audio frames out)
  for (std::int64_t t = 0; t < 30; ++t) {
    decoder.push(frame(c.codes, t));
    const auto pcm = decoder.pull();
    if (!pcm.empty()) out.emplace_back(t + 1, static_cast<std::int64_t>(pcm.size()) / (kSamplesPerFrame * kStereo));
  }
  const std::vector<std::pair<std::int64_t, std::int64_t>> want{{3, 2}, {6, 3}, {12, 6}, {20, 8}, {28, 8}};
  EXPECT_EQ(out, want);
  // The boundaries, not how frames arrive, fix the audio.
  EXPECT_EQ(stream_all(c, options, true), stream_all(c, options, false));
  EXPECT_NE(stream_all(c, options, false), stream_all(c, chunking(8, 4), false));
}

// The chunk shapes a song runs through as it starts (what CodecBatch::prepare makes ahead): the
// daemon's chunking of 16 (4, 4, 8, then 16 frames, carrying up to 16) and of 32.
TEST(StreamingDecoder, SongShapesRunFromTheFirstChunkToTheSteadyOne) {
  using Chunks = std::vector<ChunkShape>;  // {held, carried}
  const SongShapes c16 = song_shapes(song_chunking(16));
  EXPECT_EQ(c16.chunks, (Chunks{{4, 0}, {8, 4}, {16, 8}, {32, 16}}));
  EXPECT_EQ(c16.first_push, 4 * 2);  // latent frames
  EXPECT_EQ(c16.later_pushes, (std::set<std::int64_t>{4 * 2, 8 * 2, 16 * 2}));
  const SongShapes c32 = song_shapes(song_chunking(32));
  EXPECT_EQ(c32.chunks, (Chunks{{4, 0}, {8, 4}, {16, 8}, {32, 16}, {48, 16}}));
  EXPECT_EQ(c32.later_pushes, (std::set<std::int64_t>{4 * 2, 8 * 2, 16 * 2}));  // 32 frames in two pushes of 16
  StreamingDecoderOptions no_context = song_chunking(16);
  no_context.context_frames = 0;
  EXPECT_EQ(song_shapes(no_context).chunks, (Chunks{{4, 0}, {8, 0}, {16, 0}}));  // each shape once
  // A first chunk as long as the others: one chunk to the steady one; a longer one is cut.
  const SongShapes whole = song_shapes(song_chunking(16, 16));
  EXPECT_EQ(whole.chunks, (Chunks{{16, 0}, {32, 16}}));
  EXPECT_EQ(whole.first_push, 16 * 2);
  EXPECT_EQ(whole.later_pushes, (std::set<std::int64_t>{16 * 2}));
  EXPECT_EQ(song_shapes(song_chunking(8, 16)).chunks, (Chunks{{8, 0}, {16, 8}, {24, 16}}));
}

TEST(StreamingDecoder, BackgroundDecodingGivesTheSameAudio) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  StreamingDecoderOptions options = chunking(8, 4);
  options.first_chunk_frames = 3;
  const std::vector<float> inline_pcm = stream_all(c, options, true);
  options.background = true;
  EXPECT_EQ(stream_all(c, options, true), inline_pcm);
  EXPECT_EQ(stream_all(c, options, false), inline_pcm);
}

// In the background only the first chunk is waited for: its audio is out when the push that
// completes it returns (it runs alone on the device: the time to first audio), and so is its error.
TEST(StreamingDecoder, BackgroundFirstChunkIsReadyWhenItsPushReturns) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 8);
  StreamingDecoderOptions options = chunking(8, 4);
  options.first_chunk_frames = 3;
  options.background = true;
  GaussianNoise noise(kSeed);
  StreamingDecoder decoder(*c.model, noise, options);
  for (std::int64_t t = 0; t < 2; ++t) decoder.push(frame(c.codes, t));
  EXPECT_TRUE(decoder.pull().empty());
  decoder.push(frame(c.codes, 2));
  // 3 frames in, 2 frames of audio out (the decoder's look-ahead holds the last one back).
  EXPECT_EQ(static_cast<std::int64_t>(decoder.pull().size()), 2 * kSamplesPerFrame * kStereo);

  options.on_latents = [](const Tensor&, std::int64_t) { throw Error("first chunk failed on purpose"); };
  StreamingDecoder failing(*c.model, noise, options);
  for (std::int64_t t = 0; t < 2; ++t) failing.push(frame(c.codes, t));
  EXPECT_THROW(failing.push(frame(c.codes, 2)), Error);
}

TEST(StreamingDecoder, BackgroundErrorsReachTheCaller) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 8);
  StreamingDecoderOptions options = chunking(2, 1);
  options.background = true;
  options.on_latents = [](const Tensor&, std::int64_t first_frame) {
    if (first_frame >= 2) throw Error("chunk failed on purpose");
  };
  GaussianNoise noise(kSeed);
  StreamingDecoder decoder(*c.model, noise, options);
  for (std::int64_t t = 0; t < 4; ++t) decoder.push(frame(c.codes, t));
  EXPECT_THROW(decoder.finish(), Error);
}

TEST(StreamingDecoder, ChunkLatentsEqualDirectFlowMatcherCalls) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  constexpr std::int64_t kChunk = 16, kContext = 8;
  std::vector<Tensor> chunks;
  StreamingDecoderOptions options = chunking(kChunk, kContext);
  options.on_latents = [&](const Tensor& latents, std::int64_t) { chunks.push_back(c.model->backend().download(latents)); };
  stream_all(c, options, false);
  ASSERT_EQ(chunks.size(), 3u);

  const FlowMatcher& flow = c.model->flow();
  Backend& be = c.model->backend();
  GaussianNoise noise(kSeed);
  const Tensor first = flow.sample(flow.condition(columns(c.codes, 0, kChunk)), Tensor(), noise);
  EXPECT_LE(max_error(chunks[0], be.download(first)), kSameComputation);
  // Chunk 2: frames [8, 32), the first 16 latent rows in context = chunk 1's last 16 rows.
  const Tensor prefix = first.slice(2 * (kChunk - kContext), 2 * kChunk);
  const Tensor second = flow.sample(flow.condition(columns(c.codes, kChunk - kContext, 2 * kChunk)), prefix, noise);
  EXPECT_LE(max_error(chunks[1], be.download(second).slice(2 * kContext, second.dim(0))), kSameComputation);
}

// Also with each chunk's latents pushed into the decoder in parts (decoder_frames 3: 3, 3, 1).
TEST(StreamingDecoder, AudioEqualsOneShotDecodeOfTheChunkLatents) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  for (const std::int64_t decoder_frames : {kDecoderPushFrames, std::int64_t{3}}) {
    std::vector<Tensor> chunks;
    StreamingDecoderOptions options = chunking(7, 5);
    options.decoder_frames = decoder_frames;
    options.on_latents = [&](const Tensor& latents, std::int64_t) { chunks.push_back(c.model->backend().download(latents)); };
    const auto pcm = stream_all(c, options, true);

    std::int64_t rows = 0;
    for (const Tensor& t : chunks) rows += t.dim(0);
    Tensor all = Tensor::zeros({rows, chunks.front().dim(1)}, DType::F32);
    std::int64_t at = 0;
    for (const Tensor& t : chunks) {
      std::copy_n(t.data<float>(), t.numel(), all.data<float>() + at);
      at += t.numel();
    }
    const ScalarDecoder& dec = c.model->decoder();
    Backend& be = c.model->backend();
    const Tensor want = be.download(dec.decode(dec.split_channels(be.upload(all))));  // [2, 1, n]
    const std::int64_t n = want.dim(2);
    ASSERT_EQ(static_cast<std::int64_t>(pcm.size()), kStereo * n);
    Tensor got = Tensor::zeros({kStereo, 1, n}, DType::F32);
    for (std::int64_t t = 0; t < n; ++t)
      for (std::int64_t ch = 0; ch < kStereo; ++ch) got.data<float>()[ch * n + t] = pcm[static_cast<std::size_t>(t * kStereo + ch)];
    EXPECT_LE(max_error(got, want), kStreamTolerance) << "decoder_frames " << decoder_frames;
  }
}

// A chunk's audio comes out whole whatever the decoder's pushes: 12 frames (less the look-ahead
// frame) at once, pushed as 5 + 5 + 2.
TEST(StreamingDecoder, DecoderPushesDoNotSplitAChunksAudio) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 40);
  StreamingDecoderOptions options = chunking(12, 6);
  options.decoder_frames = 5;
  GaussianNoise noise(kSeed);
  StreamingDecoder decoder(*c.model, noise, options);
  for (std::int64_t t = 0; t < 11; ++t) decoder.push(frame(c.codes, t));
  EXPECT_TRUE(decoder.pull().empty());
  decoder.push(frame(c.codes, 11));
  EXPECT_EQ(static_cast<std::int64_t>(decoder.pull().size()), (12 - 1) * kSamplesPerFrame * kStereo);
}

TEST(StreamingDecoder, LatencyIsTheChunkPlusOneLookAheadFrame) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 1);
  GaussianNoise noise(kSeed);
  for (const std::int64_t chunk : {1, 4, 16, 64})
    EXPECT_EQ(StreamingDecoder(*c.model, noise, chunking(chunk, 16)).algorithmic_latency_ms(), chunk * 80);
}

TEST(StreamingDecoder, RejectsMisuse) {
  HS_REQUIRE_SHARED(golden, "golden");
  const Case c = load(golden, "codec_short.safetensors", 4);
  GaussianNoise noise(kSeed);
  EXPECT_THROW(StreamingDecoder(*c.model, noise, chunking(0, 16)), InvalidArgument);
  EXPECT_THROW(StreamingDecoder(*c.model, noise, chunking(16, -1)), InvalidArgument);
  StreamingDecoderOptions no_pushes = chunking(16, 8);
  no_pushes.decoder_frames = 0;
  EXPECT_THROW(StreamingDecoder(*c.model, noise, no_pushes), InvalidArgument);
  StreamingDecoder decoder(*c.model, noise, chunking(2, 1));
  EXPECT_THROW(decoder.push(std::vector<std::int32_t>(7, 0)), InvalidArgument);
  std::vector<std::int32_t> bad = frame(c.codes, 0);
  bad[3] = static_cast<std::int32_t>(c.model->config().codebook_size);
  EXPECT_THROW(decoder.push(bad), InvalidArgument);
  for (std::int64_t t = 0; t < 3; ++t) decoder.push(frame(c.codes, t));
  decoder.finish();
  EXPECT_EQ(static_cast<std::int64_t>(decoder.pull().size()), 3 * kSamplesPerFrame * kStereo);
  EXPECT_THROW(decoder.push(frame(c.codes, 3)), InvalidArgument);
  EXPECT_THROW(decoder.finish(), InvalidArgument);
}

}  // namespace
}  // namespace hs
