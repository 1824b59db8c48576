// Helpers for the io tests: a self-deleting temp folder, raw safetensors assembly, error matching.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hs::test {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `bytes` to `path` verbatim.
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
std::string read_bytes(const std::filesystem::path& path);

// The 8-byte little-endian length prefix.
std::string le64(std::uint64_t value);
// A safetensors file image: length prefix (the header's own size) + header + data.
std::string safetensors_image(const std::string& header, const std::string& data);

// Success when `fn` throws hs::FormatError whose message contains every string in `needles`.
::testing::AssertionResult throws_format_error(const std::function<void()>& fn,
                                               const std::vector<std::string>& needles);

}  // namespace hs::test
