// TensorStore over single files, single-file folders and sharded folders with an index.
#include <gtest/gtest.h>

#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace hs {
namespace {

constexpr const char* kIndex = "model.safetensors.index.json";

Tensor ints(std::vector<std::int32_t> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return Tensor::from_i32({n}, values);
}

// Two shards: a, b in shard 1; c in shard 2.
void write_shards(const test::TempDir& dir) {
  write_safetensors(dir / "model-00001-of-00002.safetensors", {{"a", ints({1, 2})}, {"b", ints({3})}});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {{"c", ints({4, 5, 6})}});
}

std::string index_json(const std::string& weight_map) {
  return R"({"metadata": {"total_size": 24}, "weight_map": {)" + weight_map + "}}";
}

const std::string kValidMap = R"("a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
                              R"( "c": "model-00002-of-00002.safetensors")";

TEST(TensorStore, ShardedFolderWithIndex) {
  test::TempDir dir;
  write_shards(dir);
  test::write_bytes(dir / kIndex, index_json(kValidMap));
  const TensorStore store = TensorStore::open(dir.path());
  EXPECT_EQ(store.path(), dir.path());
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(store.contains("c"));
  EXPECT_FALSE(store.contains("d"));
  const Tensor c = store.get("c");
  ASSERT_EQ(c.shape(), (Shape{3}));
  EXPECT_EQ(c.data<std::int32_t>()[2], 6);
  EXPECT_EQ(store.get("a").data<std::int32_t>()[1], 2);
  EXPECT_TRUE(test::throws_format_error([&] { store.get("d"); }, {dir.path().string(), "'d'", "not found"}));
}

TEST(TensorStore, SingleFileAndFolderWithOneFile) {
  test::TempDir dir;
  write_safetensors(dir / "only.safetensors", {{"x", ints({9})}});
  for (const auto& path : {dir / "only.safetensors", dir.path()}) {
    const TensorStore store = TensorStore::open(path);
    EXPECT_EQ(store.names(), std::vector<std::string>{"x"});
    EXPECT_EQ(store.get("x").data<std::int32_t>()[0], 9);
  }
}

TEST(TensorStore, FolderWithoutIndexNeedsExactlyOneFile) {
  test::TempDir dir;
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); }, {dir.path().string(), "0 .safetensors"}));
  write_shards(dir);
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); }, {dir.path().string(), "2 .safetensors"}));
}

TEST(TensorStore, MissingPath) {
  test::TempDir dir;
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir / "absent"); }, {"absent", "no such file"}));
}

TEST(TensorStore, MissingShardIsNamed) {
  test::TempDir dir;
  write_shards(dir);
  test::write_bytes(dir / kIndex, index_json(kValidMap + R"(, "d": "model-00003-of-00002.safetensors")"));
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); },
                                        {"model-00003-of-00002.safetensors", "missing"}));
}

TEST(TensorStore, TensorInTwoShards) {
  test::TempDir dir;
  write_shards(dir);
  write_safetensors(dir / "model-00002-of-00002.safetensors", {{"c", ints({4})}, {"a", ints({1, 2})}});
  test::write_bytes(dir / kIndex, index_json(kValidMap));
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); }, {"'a'", "two files"}));
}

TEST(TensorStore, IndexEntryAbsentFromItsShard) {
  test::TempDir dir;
  write_shards(dir);
  test::write_bytes(dir / kIndex, index_json(kValidMap + R"(, "z": "model-00002-of-00002.safetensors")"));
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); },
                                        {"'z'", "model-00002-of-00002.safetensors", "lacks"}));
}

TEST(TensorStore, IndexPointsAtTheWrongShard) {
  test::TempDir dir;
  write_shards(dir);
  test::write_bytes(dir / kIndex, index_json(R"("a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",)"
                                             R"( "c": "model-00002-of-00002.safetensors")"));
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); }, {"'a'", "lacks"}));
}

TEST(TensorStore, ShardTensorMissingFromIndex) {
  test::TempDir dir;
  write_shards(dir);
  test::write_bytes(dir / kIndex, index_json(R"("a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors")"));
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); }, {"'b'", "not listed"}));
}

TEST(TensorStore, ShardPathEscapingTheFolder) {
  test::TempDir dir;
  const auto inner = dir / "ckpt";
  std::filesystem::create_directories(inner);
  write_safetensors(dir / "outside.safetensors", {{"a", ints({1})}});
  const std::vector<std::string> shards = {"../outside.safetensors", (dir / "outside.safetensors").string(), "sub/../../x"};
  for (const std::string& shard : shards) {
    test::write_bytes(inner / kIndex, index_json(R"("a": ")" + shard + R"(")"));
    EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(inner); }, {shard, "escapes"})) << shard;
  }
}

TEST(TensorStore, MalformedIndex) {
  test::TempDir dir;
  write_shards(dir);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"weight_map": {"a": "x.safetensors",)", "invalid JSON"},
      {R"({"metadata": {}})", "missing key 'weight_map'"},
      {R"({"weight_map": []})", "not an object"},
      {R"({"weight_map": {"a": 3}})", "not a string"},
      {R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "a": "model-00002-of-00002.safetensors"}})",
       "duplicate key"},
      {R"(["weight_map"])", "not a JSON object"},
  };
  for (const auto& [text, problem] : cases) {
    test::write_bytes(dir / kIndex, text);
    EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); }, {kIndex, problem})) << text;
  }
}

TEST(TensorStore, CorruptShardReportsTheShard) {
  test::TempDir dir;
  write_shards(dir);
  test::write_bytes(dir / "model-00002-of-00002.safetensors", "garbage");
  test::write_bytes(dir / kIndex, index_json(kValidMap));
  EXPECT_TRUE(test::throws_format_error([&] { TensorStore::open(dir.path()); },
                                        {"model-00002-of-00002.safetensors", "too short"}));
}

}  // namespace
}  // namespace hs
