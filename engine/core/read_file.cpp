#include "engine/core/read_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace hs {
namespace {

constexpr std::size_t kReadChunkBytes = 64 * 1024;

}  // namespace

std::string read_regular_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw FileReadError("no such file");
  if (std::filesystem::is_directory(status)) throw FileReadError("is a directory, not a regular file");
  if (!std::filesystem::is_regular_file(status))
    throw FileReadError("is not a regular file (a device, FIFO or socket)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileReadError(std::string("cannot be opened: ") + std::strerror(errno));
  // Read in chunks up to one byte past the bound: the file may have grown (or been swapped) since
  // the check above, and its size is not trusted.
  std::string text;
  text.reserve(static_cast<std::size_t>(std::min<std::uintmax_t>(std::filesystem::file_size(path, ec), max_bytes + 1)));
  while (in && text.size() <= max_bytes) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uintmax_t>(kReadChunkBytes, max_bytes + 1 - text.size()));
    const std::size_t had = text.size();
    text.resize(had + want);
    in.read(text.data() + had, static_cast<std::streamsize>(want));
    text.resize(had + static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw FileReadError("read error");
  if (text.size() > max_bytes)
    throw FileReadError("is larger than the limit of " + std::to_string(max_bytes) + " bytes");
  return text;
}

}  // namespace hs
