// Randomly corrupted safetensors files either open consistently or throw FormatError — never
// crash, never another exception. Fixed seed, bounded iterations.
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace hs {
namespace {

constexpr int kIterations = 3000;
constexpr std::uint32_t kSeed = 0x5AFE7E45;
constexpr std::string_view kJsonChars = R"({}[]",:-.0123456789 eE_FUIB8\)";

std::string base_image(const test::TempDir& dir) {
  const auto path = dir / "base.safetensors";
  Tensor bf16 = Tensor::zeros({4}, DType::BF16);
  Tensor flags = Tensor::zeros({3}, DType::BOOL);
  write_safetensors(path,
                    {{"a.weight", Tensor::from_f32({3, 2}, {1, 2, 3, 4, 5, 6})},
                     {"b", bf16},
                     {"empty", Tensor::zeros({0, 3}, DType::U8)},
                     {"ids", Tensor::from_i32({2}, {7, 8})},
                     {"flags", flags}},
                    {{"format", "pt"}});
  return test::read_bytes(path);
}

std::uint64_t header_length(const std::string& image) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(image[static_cast<std::size_t>(i)]);
  return n;
}

// One random corruption of a valid image.
std::string corrupt(std::string image, std::mt19937_64& rng) {
  const std::size_t header_end = 8 + header_length(image);
  auto pick = [&rng](std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng); };
  auto json_char = [&] { return kJsonChars[pick(0, kJsonChars.size() - 1)]; };
  auto set_length = [&image](std::uint64_t n) { image.replace(0, 8, test::le64(n)); };
  switch (pick(0, 7)) {
    case 0:  // flip bits in the header
      for (std::size_t k = pick(1, 4); k > 0; --k) image[pick(8, header_end - 1)] ^= static_cast<char>(pick(1, 255));
      break;
    case 1:  // overwrite a header byte with a JSON-significant character
      image[pick(8, header_end - 1)] = json_char();
      break;
    case 2:  // flip bits in the data section
      image[pick(header_end, image.size() - 1)] ^= static_cast<char>(pick(1, 255));
      break;
    case 3:  // truncate
      image.resize(pick(0, image.size() - 1));
      break;
    case 4: {  // edit the header length
      const std::uint64_t n = header_length(image);
      const std::uint64_t choices[] = {rng(), n + pick(1, 16), n - pick(1, 16), image.size(), image.size() - 8, 0};
      set_length(choices[pick(0, 5)]);
      break;
    }
    case 5:  // append bytes
      image.append(pick(1, 16), static_cast<char>(pick(0, 255)));
      break;
    case 6: {  // insert or delete a header character, keeping the length prefix consistent
      const std::size_t at = pick(8, header_end - 1);
      const bool insert = rng() % 2 == 0;
      if (insert) image.insert(at, 1, json_char()); else image.erase(at, 1);
      set_length(insert ? header_end - 8 + 1 : header_end - 8 - 1);
      break;
    }
    default: {  // change one digit of a number (shapes, offsets)
      std::vector<std::size_t> digits;
      for (std::size_t i = 8; i < header_end; ++i)
        if (image[i] >= '0' && image[i] <= '9') digits.push_back(i);
      image[digits[pick(0, digits.size() - 1)]] = static_cast<char>('0' + pick(0, 9));
      break;
    }
  }
  return image;
}

// Everything an opened file promises: offsets tile the data section exactly and every view shows
// the bytes at its offsets in the file image.
void check_consistent(const SafetensorsFile& file, const std::string& image, int iteration) {
  const std::uint64_t data_start = 8 + header_length(image);
  std::uint64_t expected_begin = 0;
  for (const TensorInfo& info : file.tensors()) {
    ASSERT_EQ(info.begin, expected_begin) << "iteration " << iteration;
    const Tensor t = file.get(info.name);
    ASSERT_EQ(t.shape(), info.shape) << "iteration " << iteration;
    ASSERT_EQ(t.bytes(), info.end - info.begin) << "iteration " << iteration << " tensor " << info.name;
    ASSERT_EQ(std::memcmp(t.raw(), image.data() + data_start + info.begin, t.bytes()), 0)
        << "iteration " << iteration << " tensor " << info.name;
    expected_begin = info.end;
  }
  ASSERT_EQ(data_start + expected_begin, image.size()) << "iteration " << iteration;
}

TEST(SafetensorsFuzz, CorruptedFilesOpenConsistentlyOrThrowFormatError) {
  test::TempDir dir;
  const std::string base = base_image(dir);
  const auto path = dir / "fuzz.safetensors";
  std::mt19937_64 rng(kSeed);
  int opened = 0, rejected = 0;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    const std::string image = corrupt(base, rng);
    std::filesystem::remove(path);  // a fresh file: truncating one in place can force a disk flush
    test::write_bytes(path, image);
    try {
      const SafetensorsFile file = SafetensorsFile::open(path);
      ++opened;
      check_consistent(file, image, iteration);
      if (HasFatalFailure()) return;
    } catch (const FormatError&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "iteration " << iteration << ": non-FormatError " << e.what();
    }
  }
  RecordProperty("opened", opened);
  RecordProperty("rejected", rejected);
  // Both outcomes must occur, or the corruptions are not exercising the validator.
  EXPECT_GT(opened, 0);
  EXPECT_GT(rejected, kIterations / 2);
}

}  // namespace
}  // namespace hs
