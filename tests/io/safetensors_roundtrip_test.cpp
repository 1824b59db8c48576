// write_safetensors → SafetensorsFile round trips for every dtype, zero-size tensors and metadata.
#include <cstring>
#include <filesystem>
#include <iterator>
#include <random>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace hs {
namespace {

constexpr DType kAllDTypes[] = {DType::F32, DType::F16,  DType::BF16, DType::F8_E4M3, DType::I8,
                                DType::U8,  DType::I32,  DType::I64,  DType::BOOL};
constexpr std::uint32_t kSeed = 20240611;

Tensor random_tensor(Shape shape, DType dtype, std::mt19937& rng) {
  Tensor t = Tensor::zeros(std::move(shape), dtype);
  auto* bytes = static_cast<unsigned char*>(t.raw());
  for (std::size_t i = 0; i < t.bytes(); ++i)
    bytes[i] = static_cast<unsigned char>(dtype == DType::BOOL ? rng() % 2 : rng() % 256);
  return t;
}

// Every dtype at an odd-sized shape, a scalar, and zero-size tensors between them.
std::vector<std::pair<std::string, Tensor>> sample_tensors() {
  std::mt19937 rng(kSeed);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const DType dtype : kAllDTypes) {
    const std::string name(dtype_name(dtype));
    tensors.emplace_back("t." + name, random_tensor({3, 5}, dtype, rng));
    tensors.emplace_back("empty." + name, random_tensor({0, 4}, dtype, rng));
  }
  tensors.emplace_back("scalar", random_tensor({}, DType::F32, rng));
  tensors.emplace_back("empty.last", random_tensor({0}, DType::U8, rng));
  return tensors;
}

TEST(SafetensorsRoundTrip, EveryDTypeAndZeroSizeTensorAndMetadata) {
  test::TempDir dir;
  const auto path = dir / "all.safetensors";
  const auto tensors = sample_tensors();
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode \"quoted\""}};
  write_safetensors(path, tensors, metadata);

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    ASSERT_TRUE(file.contains(name)) << name;
    const Tensor got = file.get(name);
    EXPECT_EQ(got.dtype(), expected.dtype()) << name;
    EXPECT_EQ(got.shape(), expected.shape()) << name;
    EXPECT_EQ(got.device(), Device::Cpu);
    ASSERT_EQ(got.bytes(), expected.bytes()) << name;
    EXPECT_EQ(std::memcmp(got.raw(), expected.raw(), got.bytes()), 0) << name;
    const TensorInfo& info = file.info(name);
    EXPECT_EQ(info.end - info.begin, expected.bytes()) << name;
  }
  for (std::size_t i = 1; i < file.tensors().size(); ++i)
    EXPECT_LE(file.tensors()[i - 1].end, file.tensors()[i].begin) << "tensors() not in file order";
}

TEST(SafetensorsRoundTrip, HeaderKeepsOrderAndIsPaddedToEightBytes) {
  test::TempDir dir;
  const auto path = dir / "order.safetensors";
  const auto tensors = sample_tensors();
  write_safetensors(path, tensors);

  const std::string image = test::read_bytes(path);
  ASSERT_GE(image.size(), 8u);
  std::uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | static_cast<unsigned char>(image[static_cast<std::size_t>(i)]);
  EXPECT_EQ((8 + header_bytes) % 8, 0u);
  const auto header = boost::json::parse(image.substr(8, header_bytes)).as_object();
  std::vector<std::string> keys;
  for (const auto& [key, value] : header) keys.emplace_back(key);
  ASSERT_EQ(keys.size(), tensors.size());
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(keys[i], tensors[i].first);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))  // no temporary file left
    EXPECT_EQ(entry.path().filename(), "order.safetensors");
}

TEST(SafetensorsRoundTrip, ViewOutlivesTheFileObject) {
  test::TempDir dir;
  const auto path = dir / "alive.safetensors";
  const Tensor values = Tensor::from_f32({4}, {1.5f, -2.0f, 3.25f, 0.0f});
  write_safetensors(path, {{"v", values}});
  Tensor view;
  { view = SafetensorsFile::open(path).get("v"); }
  EXPECT_EQ(std::memcmp(view.data<float>(), values.data<float>(), values.bytes()), 0);
}

TEST(SafetensorsRoundTrip, EmptyFileHasNoTensors) {
  test::TempDir dir;
  const auto path = dir / "empty.safetensors";
  write_safetensors(path, {});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(SafetensorsRoundTrip, OverwritesAnExistingFile) {
  test::TempDir dir;
  const auto path = dir / "again.safetensors";
  write_safetensors(path, {{"a", Tensor::from_i32({2}, {1, 2})}});
  write_safetensors(path, {{"b", Tensor::from_i32({1}, {7})}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_FALSE(file.contains("a"));
  ASSERT_TRUE(file.contains("b"));
  EXPECT_EQ(file.get("b").data<std::int32_t>()[0], 7);
}

TEST(SafetensorsWriter, UnwritableFolderIsAnErrorNamingThePath) {
  test::TempDir dir;
  const auto path = dir / "no_such_folder" / "x.safetensors";
  try {
    write_safetensors(path, {{"a", Tensor::from_i32({1}, {1})}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(SafetensorsWriter, RejectsDuplicateAndEmptyNames) {
  test::TempDir dir;
  const Tensor t = Tensor::from_i32({1}, {1});
  EXPECT_THROW(write_safetensors(dir / "d.safetensors", {{"a", t}, {"a", t}}), InvalidArgument);
  EXPECT_THROW(write_safetensors(dir / "e.safetensors", {{"", t}}), InvalidArgument);
  EXPECT_THROW(write_safetensors(dir / "m.safetensors", {{"__metadata__", t}}), InvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir / "d.safetensors"));
}

// Tensors appended one at a time land in the file the reader reads, and nothing else is left in
// the folder (the temporary file is renamed).
TEST(SafetensorsWriter, StreamsTensorsInSpecOrder) {
  test::TempDir dir;
  const auto path = dir / "streamed.safetensors";
  const auto tensors = sample_tensors();
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) specs.push_back({name, t.dtype(), t.shape()});
  SafetensorsWriter writer(path, specs, {{"k", "v"}});
  for (const auto& [name, t] : tensors) writer.append(t);
  writer.commit();
  const SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor got = file.get(name);
    EXPECT_EQ(got.dtype(), t.dtype()) << name;
    EXPECT_EQ(got.shape(), t.shape()) << name;
    EXPECT_EQ(std::memcmp(got.raw(), t.raw(), t.bytes()), 0) << name;
  }
  EXPECT_EQ(file.metadata().at("k"), "v");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(SafetensorsWriter, RejectsTensorsUnlikeTheirSpecAndLeavesNoFileUnfinished) {
  test::TempDir dir;
  const auto path = dir / "partial.safetensors";
  {
    SafetensorsWriter writer(path, {{"a", DType::I32, {2}}, {"b", DType::F32, {1}}});
    EXPECT_THROW(writer.append(Tensor::from_i32({3}, {1, 2, 3})), InvalidArgument);  // shape
    EXPECT_THROW(writer.append(Tensor::zeros({2}, DType::F32)), InvalidArgument);      // dtype
    writer.append(Tensor::from_i32({2}, {1, 2}));
    EXPECT_THROW(writer.commit(), Error);  // "b" missing
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  SafetensorsWriter full(path, {{"a", DType::I32, {1}}});
  full.append(Tensor::from_i32({1}, {1}));
  EXPECT_THROW(full.append(Tensor::from_i32({1}, {2})), InvalidArgument);  // past the last spec
}

TEST(SafetensorsFile, AbsentTensorIsAFormatErrorNamingIt) {
  test::TempDir dir;
  const auto path = dir / "one.safetensors";
  write_safetensors(path, {{"present", Tensor::from_i32({1}, {1})}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_FALSE(file.contains("absent"));
  EXPECT_TRUE(test::throws_format_error([&] { file.get("absent"); }, {"one.safetensors", "absent", "not found"}));
  EXPECT_TRUE(test::throws_format_error([&] { file.info("absent"); }, {"one.safetensors", "absent", "not found"}));
}

}  // namespace
}  // namespace hs
