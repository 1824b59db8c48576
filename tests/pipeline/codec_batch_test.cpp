// CodecBatch on the CPU backend, on the demo checkpoint's codec (the released codec's structure,
// small widths): songs whose chunks are decoded together give exactly the latents and audio each
// gives alone (tests/pipeline/codec_batch_songs.h: calls of several sizes and shapes, padded to a
// bucket size, a song arriving mid-stream, one dropped mid-song), and bad use errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

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

}  // namespace
}  // namespace hs
