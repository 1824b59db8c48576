// An output file written in place as data arrives: every write reaches the OS at once, so the
// file grows while audio streams and a reader can follow it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace hs {

class BinaryFile {
 public:
  // Creates or truncates `path`; throws Error naming the path and the OS reason.
  explicit BinaryFile(std::filesystem::path path);
  ~BinaryFile();  // closes if close() was not called (errors ignored there)
  BinaryFile(const BinaryFile&) = delete;
  BinaryFile& operator=(const BinaryFile&) = delete;

  // Appends at the end of the file.
  void write(std::span<const std::uint8_t> bytes);
  // Overwrites bytes already written, starting at `offset`; later write()s still append.
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes);
  // Closes the file; throws Error naming the path if the OS reports a failure.
  void close();

  const std::filesystem::path& path() const { return path_; }
  std::uint64_t size_bytes() const { return size_bytes_; }

 private:
  [[noreturn]] void fail(const char* what) const;

  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_bytes_ = 0;
};

}  // namespace hs
