#include "daemon/audio/binary_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr mode_t kFileMode = 0644;

}  // namespace

BinaryFile::BinaryFile(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (fd_ < 0) fail("cannot open for writing");
}

BinaryFile::~BinaryFile() {
  if (fd_ >= 0) ::close(fd_);
}

void BinaryFile::write(std::span<const std::uint8_t> bytes) { write_at(size_bytes_, bytes); }

void BinaryFile::write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) {
  HS_CHECK(fd_ >= 0, "BinaryFile written after close: " + path_.string());
  HS_CHECK(offset <= size_bytes_, "BinaryFile::write_at past the end of " + path_.string());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  size_bytes_ = std::max(size_bytes_, offset + bytes.size());
}

void BinaryFile::close() {
  HS_CHECK(fd_ >= 0, "BinaryFile closed twice: " + path_.string());
  const int status = ::close(fd_);
  fd_ = -1;
  if (status != 0) fail("cannot close");
}

void BinaryFile::fail(const char* what) const {
  throw Error(std::string("audio output file '") + path_.string() + "': " + what + ": " +
              std::strerror(errno));
}

}  // namespace hs
