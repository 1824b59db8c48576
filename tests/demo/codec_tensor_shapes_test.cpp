// codec_tensor_shapes against the reference's own checkpoint layout (golden/codec-tiny): every
// listed tensor is there with that shape, and the list alone is enough to build a CodecModel.
#include <gtest/gtest.h>

#include <set>

#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/config.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

TEST(CodecTensorShapes, MatchTheGoldenCheckpoint) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  const CodecConfig config = read_codec_config(folder / "config.json");
  const TensorStore store = TensorStore::open(folder);
  const auto shapes = codec_tensor_shapes(config);
  std::set<std::string> names;
  for (const auto& [name, shape] : shapes) {
    EXPECT_TRUE(names.insert(name).second) << "listed twice: " << name;
    ASSERT_TRUE(store.contains(name)) << name;
    EXPECT_EQ(store.get(name).shape(), shape) << name;
  }
  // 8 codebooks + project_out + cond_feature_emb, and the last entries are the output conv's g, v.
  EXPECT_EQ(shapes.front().first, "flow_matching.vq_embed.layers.0._codebook.embed");
  EXPECT_EQ(shapes.back().first, "scalar_model.decoder.7.parametrizations.weight.original1");
}

TEST(CodecTensorShapes, AreEnoughToBuildTheModel) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  const CodecConfig config = read_codec_config(folder / "config.json");
  const TensorStore store = TensorStore::open(folder);
  NamedTensors listed;
  for (const auto& [name, shape] : codec_tensor_shapes(config)) listed.emplace(name, store.get(name));
  CpuBackend backend;
  EXPECT_NO_THROW(CodecModel model(backend, listed, config));
  // Dropping any one kind of tensor breaks the load, so the model really reads them.
  NamedTensors partial = listed;
  partial.erase("scalar_model.decoder.7.bias");
  EXPECT_THROW(CodecModel model(backend, partial, config), FormatError);
}

}  // namespace
}  // namespace hs
