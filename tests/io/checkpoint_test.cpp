// resolve_checkpoint on temp folders shaped like the reference checkpoint layout.
#include <algorithm>

#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "tests/io/io_test_util.h"

namespace hs {
namespace {

constexpr const char* kVersion = "3B";
const std::vector<std::string> kPieces = {"HeartMuLa-oss-3B", "HeartCodec-oss", "gen_config.json", "tokenizer.json"};

// A complete checkpoint under dir/ckpt, minus the pieces named in `skip`.
std::filesystem::path make_checkpoint(const test::TempDir& dir, const std::vector<std::string>& skip = {}) {
  const auto root = dir / "ckpt";
  std::filesystem::create_directories(root);
  auto wanted = [&skip](const std::string& piece) { return std::find(skip.begin(), skip.end(), piece) == skip.end(); };
  for (const auto& folder : {kPieces[0], kPieces[1]})
    if (wanted(folder)) std::filesystem::create_directories(root / folder);
  for (const auto& file : {kPieces[2], kPieces[3]})
    if (wanted(file)) test::write_bytes(root / file, "{}");
  return root;
}

TEST(Checkpoint, CompleteFolderResolves) {
  test::TempDir dir;
  const auto root = make_checkpoint(dir);
  const CheckpointPaths p = resolve_checkpoint(root, kVersion);
  EXPECT_EQ(p.mula_dir, root / kPieces[0]);
  EXPECT_EQ(p.codec_dir, root / kPieces[1]);
  EXPECT_EQ(p.gen_config, root / kPieces[2]);
  EXPECT_EQ(p.tokenizer, root / kPieces[3]);
}

TEST(Checkpoint, EachMissingPieceIsNamed) {
  for (const auto& piece : kPieces) {
    test::TempDir dir;
    const auto root = make_checkpoint(dir, {piece});
    EXPECT_TRUE(test::throws_format_error([&] { resolve_checkpoint(root, kVersion); }, {piece, "missing"})) << piece;
  }
}

TEST(Checkpoint, CodecOnlyRequiredWhenAsked) {
  test::TempDir dir;
  const auto root = make_checkpoint(dir, {"HeartCodec-oss"});
  EXPECT_EQ(resolve_checkpoint(root, kVersion, false).mula_dir, root / kPieces[0]);
}

TEST(Checkpoint, WrongKindOfEntryIsReported) {
  test::TempDir dir;
  const auto root = make_checkpoint(dir, {"tokenizer.json"});
  std::filesystem::create_directories(root / "tokenizer.json");
  EXPECT_TRUE(test::throws_format_error([&] { resolve_checkpoint(root, kVersion); }, {"tokenizer.json", "not a file"}));
}

TEST(Checkpoint, AllMissingListedInOneMessage) {
  test::TempDir dir;
  const auto root = make_checkpoint(dir, kPieces);
  std::vector<std::string> needles = kPieces;
  needles.push_back(root.string());
  EXPECT_TRUE(test::throws_format_error([&] { resolve_checkpoint(root, kVersion); }, needles));
}

TEST(Checkpoint, MissingModelPathSaysSoAndListsEverything) {
  test::TempDir dir;
  const auto root = dir / "nowhere";
  std::vector<std::string> needles = kPieces;
  needles.push_back("does not exist");
  EXPECT_TRUE(test::throws_format_error([&] { resolve_checkpoint(root, kVersion); }, needles));
}

TEST(Checkpoint, VersionMustBeAPlainName) {
  test::TempDir dir;
  const auto root = make_checkpoint(dir);
  for (const std::string version : {"", "../3B", "a/b", "a\\b"})
    EXPECT_THROW(resolve_checkpoint(root, version), InvalidArgument) << version;
}

}  // namespace
}  // namespace hs
