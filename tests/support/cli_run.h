// Running the built CLI binaries from tests and reading what they wrote: a shell command with its
// stdout/stderr captured to files, an argv run without a shell, a file's bytes, and little-endian
// fields out of those bytes (e.g. a WAV header).
#pragma once

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hs::test {

// What a finished command left: its exit code (-1 if it did not exit normally) and, where they
// were captured, its stdout and stderr.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The whole file as bytes (empty if it cannot be opened).
std::string slurp(const std::filesystem::path& p);

// Runs `command` through the shell (std::system) with stderr redirected to `err` and, when `out`
// is given, stdout to `out` (otherwise stdout is left alone); returns the exit code and what the
// redirected files hold afterwards.
RunResult run_shell(const std::string& command, const std::filesystem::path& err,
                    const std::optional<std::filesystem::path>& out = std::nullopt);

// Runs argv (no shell; args[0] is the program's path) and returns its exit code, or -1 if it could
// not be started or did not exit normally.
int run_process(const std::vector<std::string>& args);

// The value of type T stored little-endian at `offset` in `bytes` (the host is little-endian).
template <typename T>
T read_le(const std::string& bytes, std::size_t offset) {
  T v{};
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

}  // namespace hs::test
