// CodecBatch on the CPU backend, on the demo checkpoint's codec (the released codec's structure,
// small widths): songs whose chunks are decoded together give exactly the latents and audio each
// gives alone (tests/pipeline/codec_batch_songs.h: calls of several sizes and shapes, padded to a
// bucket size, a song arriving mid-stream, one dropped mid-song), and bad use errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "tests/pipeline/codec_batch_songs.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

// The demo codec, written once into a temporary folder.
const CodecModel& demo_codec() {
  static CpuBackend backend;
  static const CodecModel model = [] {
    const fs::path dir = fs::temp_directory_path() / ("hs_codec_batch_" + std::to_string(::getpid()));
    const CheckpointPaths paths = write_demo_checkpoint(dir, backend);
    CodecModel m = CodecModel::load(backend, paths.codec_dir);
    fs::remove_all(dir);
    return m;
  }();
  return model;
}

TEST(CodecBatch, SongsDecodedTogetherEqualEachAlone) {
  const CodecModel& model = demo_codec();
  const auto songs = test::batch_songs(model.config().num_quantizers, model.config().codebook_size);
  CodecBatch batch(model, 4);  // five songs start together: a call of 4, then one of 1
  const auto together = test::decode_together(model, songs, batch);
  for (std::size_t i = 0; i < songs.size(); ++i) {
    const test::SongOutput solo = test::decode_alone(model, songs[i]);
    EXPECT_FALSE(solo.pcm.empty());
    EXPECT_EQ(together[i].latents, solo.latents) << "song " << i;
    EXPECT_EQ(together[i].pcm, solo.pcm) << "song " << i;
  }
  EXPECT_LT(batch.calls(), batch.chunks_decoded()) << "no chunks were decoded together";
}

TEST(CodecBatch, RejectsBadUse) {
  const CodecModel& model = demo_codec();
  EXPECT_THROW(CodecBatch(model, 0), InvalidArgument);
  CodecBatch batch(model, 2), other(model, 2);
  GaussianNoise noise(1);
  StreamingDecoderOptions background;
  background.batch = &batch;
  background.background = true;
  EXPECT_THROW(StreamingDecoder(model, noise, background), InvalidArgument);
  StreamingDecoderOptions on_other;
  on_other.batch = &other;
  StreamingDecoder decoder(model, noise, on_other);
  StreamingDecoder* const list[] = {&decoder};
  EXPECT_THROW(batch.run(list), InvalidArgument);
}

// Calls run in the order of their first decoder in the list run() is given (the daemon passes
// the songs closest to running out of audio first), and each call's decoders hear of it as it
// ends, their audio ready then while the later calls' is not.
TEST(CodecBatch, CallsRunInTheCallersOrderAndHandOverTheirAudio) {
  const CodecModel& model = demo_codec();
  CodecBatch batch(model, 4);
  std::vector<test::SongOutput> outputs(3);
  std::vector<std::unique_ptr<GaussianNoise>> noises;
  std::vector<std::unique_ptr<StreamingDecoder>> decoders;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    StreamingDecoderOptions o = test::batch_song_options(model, &batch, outputs[i]);
    o.first_chunk_frames = i == 1 ? 2 : 3;  // song 1's first chunk is of another shape
    noises.push_back(std::make_unique<GaussianNoise>(11 + i));
    decoders.push_back(std::make_unique<StreamingDecoder>(model, *noises.back(), o));
  }
  const auto codes = test::batch_songs(model.config().num_quantizers, model.config().codebook_size).front().codes;
  for (std::size_t f = 0; f < 3; ++f)
    for (auto& d : decoders) d->push(codes[f]);
  std::vector<std::vector<StreamingDecoder*>> calls;
  const auto on_call = [&](std::span<StreamingDecoder* const> called) {
    calls.emplace_back(called.begin(), called.end());
    for (auto& d : decoders)  // an earlier call's audio was pulled at its end
      EXPECT_EQ(!d->pull().empty(), std::ranges::find(called, d.get()) != called.end()) << "call " << calls.size();
  };
  StreamingDecoder* const order[] = {decoders[2].get(), decoders[1].get(), decoders[0].get()};
  batch.run(order, on_call);
  using List = std::vector<StreamingDecoder*>;
  EXPECT_EQ(calls, (std::vector<List>{{decoders[2].get(), decoders[0].get()}, {decoders[1].get()}}));
  EXPECT_EQ(batch.calls(), 2);
}

// CodecBatch::prepare makes every call size's shapes of a song's start ahead (on CUDA it captures
// their graphs), so songs of that chunking starting later make none, and decode what an unprepared
// batch decodes.
TEST(CodecBatch, PreparedShapesServeTheSongsStartUpToTheirSteadyChunks) {
  const CodecModel& model = demo_codec();
  const auto codes = test::batch_songs(model.config().num_quantizers, model.config().codebook_size).front().codes;
  // Three songs in calls of 3, then one of them alone: every chunk up to the steady one, twice.
  const auto run = [&](CodecBatch& batch) {
    std::vector<test::SongOutput> outputs(3);
    std::vector<std::unique_ptr<GaussianNoise>> noises;
    std::vector<std::unique_ptr<StreamingDecoder>> decoders;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      noises.push_back(std::make_unique<GaussianNoise>(31 + i));
      decoders.push_back(std::make_unique<StreamingDecoder>(model, *noises.back(),
                                                            test::batch_song_options(model, &batch, outputs[i])));
    }
    std::vector<float> pcm;
    for (std::size_t f = 0; f < 24; ++f)
      for (std::size_t i = 0; i < decoders.size(); ++i) {
        if (i > 0 && f >= 12) continue;  // song 0 goes on alone
        decoders[i]->push(codes[f]);
        if (i + 1 < decoders.size() && f < 12) continue;
        std::vector<StreamingDecoder*> list;
        for (auto& d : decoders) list.push_back(d.get());
        batch.run(list);
        for (auto& d : decoders) {
          const auto part = d->pull();
          pcm.insert(pcm.end(), part.begin(), part.end());
        }
      }
    return pcm;
  };
  CodecBatch prepared(model, 4);
  test::SongOutput unused;
  prepared.prepare(test::batch_song_options(model, nullptr, unused), 4);
  const std::int64_t made = prepared.shapes_made();
  const std::vector<float> audio = run(prepared);
  EXPECT_EQ(prepared.shapes_made(), made) << "a start-up or steady call made a shape prepare() had not";
  CodecBatch fewer(model, 4);  // songs at most 2 at once: calls of 1 and 2
  fewer.prepare(test::batch_song_options(model, nullptr, unused), 2);
  EXPECT_LT(fewer.shapes_made(), made);
  CodecBatch fresh(model, 4);
  EXPECT_EQ(run(fresh), audio);
  EXPECT_GT(fresh.shapes_made(), 0);
  EXPECT_EQ(prepared.calls(), fresh.calls());
}

}  // namespace
}  // namespace hs
