// Each malformed safetensors file is a FormatError naming the file, the tensor and the problem.
#include <gtest/gtest.h>

#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace hs {
namespace {

using test::le64;
using test::safetensors_image;

struct MalformedCase {
  std::string name;                  // also the file's stem
  std::string image;                 // the whole file
  std::vector<std::string> needles;  // besides the file name
};

const std::string k8Bytes(8, '\x11');
const std::string kGoodEntry = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

// One tensor "w" with the given entry body and 8 data bytes.
std::string one_tensor(const std::string& entry, const std::string& data = k8Bytes) {
  return safetensors_image(R"({"w":)" + entry + "}", data);
}

std::vector<MalformedCase> malformed_cases() {
  const std::string big_dim = "18446744073709551616";  // 2^64: not an int64/uint64
  return {
      {"short_file", std::string("\x02\0\0\0", 4), {"too short"}},
      {"header_length_zero", le64(0) + "{}", {"too small"}},
      {"header_length_one", le64(1) + "{", {"too small"}},
      {"header_length_over_limit", le64(kMaxSafetensorsHeaderBytes + 1) + "{}", {"exceeds the limit"}},
      {"header_length_past_eof", le64(100) + "{}", {"exceeds the file size"}},
      {"header_not_json", safetensors_image(R"({"w": {"dtype")", ""), {"invalid JSON"}},
      {"header_trailing_garbage", safetensors_image("{} x", ""), {"invalid JSON"}},
      {"header_bad_utf8", safetensors_image("{\"w\xff\":1}", ""), {"UTF-8"}},
      {"header_not_object", safetensors_image("[1,2]", ""), {"not a JSON object"}},
      {"duplicate_tensor", safetensors_image(R"({"w":)" + kGoodEntry + R"(,"w":)" + kGoodEntry + "}", k8Bytes),
       {"duplicate key", "\"w\""}},
      {"duplicate_field",
       one_tensor(R"({"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})"), {"duplicate key", "dtype"}},
      {"duplicate_metadata_key", safetensors_image(R"({"__metadata__":{"a":"1","a":"2"}})", ""),
       {"duplicate key", "\"a\""}},
      {"metadata_not_object", safetensors_image(R"({"__metadata__":[1]})", ""), {"__metadata__", "not an object"}},
      {"metadata_value_not_string", safetensors_image(R"({"__metadata__":{"k":3}})", ""),
       {"__metadata__", "'k'", "not a string"}},
      {"entry_not_object", one_tensor("[1]"), {"'w'", "not an object"}},
      {"missing_field", one_tensor(R"({"dtype":"F32","data_offsets":[0,8]})"), {"'w'", "missing field 'shape'"}},
      {"extra_field", one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1})"),
       {"'w'", "unexpected field 'x'"}},
      {"dtype_not_string", one_tensor(R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})"),
       {"'w'", "dtype is not a string"}},
      {"unknown_dtype", one_tensor(R"({"dtype":"F64","shape":[1],"data_offsets":[0,8]})"),
       {"'w'", "unknown dtype 'F64'"}},
      {"shape_not_array", one_tensor(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"),
       {"'w'", "shape is not an array"}},
      {"negative_dim", one_tensor(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), {"'w'", "negative"}},
      {"fractional_dim", one_tensor(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"),
       {"'w'", "not an integer"}},
      {"dim_past_uint64", one_tensor(R"({"dtype":"F32","shape":[)" + big_dim + R"(],"data_offsets":[0,8]})"),
       {"'w'", "not an integer"}},
      {"dim_past_int64", one_tensor(R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]})"),
       {"'w'", "overflows"}},
      {"size_overflow", one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
       {"'w'", "overflows"}},
      {"offsets_three", one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"),
       {"'w'", "exactly two"}},
      {"offsets_negative", one_tensor(R"({"dtype":"F32","shape":[0],"data_offsets":[-8,-8]})"), {"'w'", "negative"}},
      {"offsets_reversed", one_tensor(R"({"dtype":"U8","shape":[0],"data_offsets":[8,0]})"), {"'w'", "after end"}},
      {"size_mismatch", one_tensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
       {"'w'", "size mismatch"}},
      {"gap_at_start", one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), {"'w'", "gap"}},
      {"gap_between",
       safetensors_image(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                         R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                         std::string(6, 'x')),
       {"'b'", "'a'", "gap"}},
      {"overlap",
       safetensors_image(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                         std::string(6, 'x')),
       {"'b'", "overlap"}},
      {"trailing_bytes", one_tensor(kGoodEntry, k8Bytes + "zz"), {"2 trailing bytes"}},
      {"truncated_data", one_tensor(kGoodEntry, "1234"), {"truncated"}},
      {"data_without_tensors", safetensors_image("{}", "abc"), {"3 trailing bytes"}},
      {"empty_tensor_name", safetensors_image(R"({"":)" + kGoodEntry + "}", k8Bytes), {"empty tensor name"}},
  };
}

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, IsAFormatErrorNamingFileAndProblem) {
  test::TempDir dir;
  const std::string file = GetParam().name + ".safetensors";
  const auto path = dir / file;
  test::write_bytes(path, GetParam().image);
  std::vector<std::string> needles = GetParam().needles;
  needles.push_back(file);
  EXPECT_TRUE(test::throws_format_error([&] { SafetensorsFile::open(path); }, needles));
}

INSTANTIATE_TEST_SUITE_P(Cases, Malformed, ::testing::ValuesIn(malformed_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(SafetensorsFile, MissingFileAndFolderAreFormatErrors) {
  test::TempDir dir;
  EXPECT_TRUE(test::throws_format_error([&] { SafetensorsFile::open(dir / "nope.safetensors"); },
                                        {"nope.safetensors", "cannot open"}));
  EXPECT_TRUE(test::throws_format_error([&] { SafetensorsFile::open(dir.path()); },
                                        {dir.path().string(), "not a regular file"}));
}

TEST(SafetensorsFile, HeaderPaddedWithSpacesIsAccepted) {
  test::TempDir dir;
  const auto path = dir / "padded.safetensors";
  test::write_bytes(path, safetensors_image(R"({"w":)" + kGoodEntry + "}     ", k8Bytes));
  const SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.contains("w"));
  EXPECT_EQ(file.get("w").bytes(), 8u);
}

TEST(SafetensorsFile, EscapedDuplicateKeyIsStillADuplicate) {
  test::TempDir dir;
  const auto path = dir / "escaped.safetensors";
  test::write_bytes(path, safetensors_image(R"({"w":)" + kGoodEntry + R"(,"\u0077":)" + kGoodEntry + "}", k8Bytes));
  EXPECT_TRUE(test::throws_format_error([&] { SafetensorsFile::open(path); }, {"escaped.safetensors", "duplicate key"}));
}

}  // namespace
}  // namespace hs
