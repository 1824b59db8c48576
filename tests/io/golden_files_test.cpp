// The project's own golden files read through SafetensorsFile and TensorStore, cross-checked against
// an independent boost::json read of each header.
#include <cstring>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

// The header of a safetensors file parsed independently of the engine.
boost::json::object raw_header(const std::filesystem::path& path) {
  const std::string image = test::read_bytes(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(image.at(static_cast<std::size_t>(i)));
  return boost::json::parse(image.substr(8, n)).as_object();
}

TEST(GoldenFiles, MulaTinyCheckpointIsConsistentBf16) {
  HS_REQUIRE_SHARED(path, "golden/mula-tiny/model.safetensors");
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto header = raw_header(path);
  const std::size_t metadata_entries = header.contains("__metadata__") ? 1 : 0;
  ASSERT_EQ(file.tensors().size() + metadata_entries, header.size());
  ASSERT_FALSE(file.tensors().empty());
  for (const TensorInfo& info : file.tensors()) {
    EXPECT_EQ(info.dtype, DType::BF16) << info.name;
    EXPECT_EQ(static_cast<std::uint64_t>(shape_numel(info.shape)) * dtype_size(info.dtype), info.end - info.begin)
        << info.name;
    const auto& entry = header.at(info.name).as_object();
    const auto& offsets = entry.at("data_offsets").as_array();
    EXPECT_EQ(info.begin, offsets[0].to_number<std::uint64_t>()) << info.name;
    EXPECT_EQ(info.end, offsets[1].to_number<std::uint64_t>()) << info.name;
    EXPECT_EQ(file.get(info.name).bytes(), info.end - info.begin) << info.name;
  }
}

TEST(GoldenFiles, MulaTinyFolderOpensAsAStore) {
  HS_REQUIRE_SHARED(dir, "golden/mula-tiny");
  const TensorStore store = TensorStore::open(dir);
  const SafetensorsFile file = SafetensorsFile::open(dir / "model.safetensors");
  ASSERT_EQ(store.names().size(), file.tensors().size());
  for (const auto& name : store.names()) {
    ASSERT_TRUE(file.contains(name)) << name;
    const Tensor a = store.get(name);
    const Tensor b = file.get(name);
    EXPECT_EQ(a.shape(), b.shape()) << name;
    ASSERT_EQ(a.bytes(), b.bytes()) << name;
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.bytes()), 0) << name;
  }
}

TEST(GoldenFiles, CfgCaseHoldsI32PromptTokens) {
  HS_REQUIRE_SHARED(path, "golden/mula_cfg.safetensors");
  const SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.contains("prompt_tokens"));
  const Tensor tokens = file.get("prompt_tokens");
  EXPECT_EQ(tokens.dtype(), DType::I32);
  EXPECT_EQ(tokens.rank(), 3);
  const auto header = raw_header(path);
  const auto& entry = header.at("prompt_tokens").as_object();
  EXPECT_EQ(entry.at("dtype").as_string(), "I32");
  ASSERT_EQ(entry.at("shape").as_array().size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(tokens.dim(i), entry.at("shape").as_array()[static_cast<std::size_t>(i)].to_number<std::int64_t>());
}

TEST(GoldenFiles, CodecTinyCheckpointOpens) {
  HS_REQUIRE_SHARED(dir, "golden/codec-tiny");
  const TensorStore store = TensorStore::open(dir);
  const auto header = raw_header(dir / "model.safetensors");
  const std::size_t metadata_entries = header.contains("__metadata__") ? 1 : 0;
  EXPECT_EQ(store.names().size() + metadata_entries, header.size());
}

}  // namespace
}  // namespace hs
