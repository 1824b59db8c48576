#include "tests/io/io_test_util.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/core/error.h"

namespace hs::test {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const std::string name = "hs_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
                           std::to_string(std::random_device{}());
  path_ = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("test helper cannot write " + path.string());
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string le64(std::uint64_t value) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return s;
}

std::string safetensors_image(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

::testing::AssertionResult throws_format_error(const std::function<void()>& fn,
                                               const std::vector<std::string>& needles) {
  try {
    fn();
  } catch (const FormatError& e) {
    const std::string message = e.what();
    for (const auto& needle : needles)
      if (message.find(needle) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << needle << "\": " << message;
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-FormatError: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace hs::test
