// Reading a whole small file with a bound: only a regular file (a directory would read as nothing,
// a device such as /dev/zero or a FIFO would never end), and never more than the caller allows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/core/error.h"

namespace hs {

// Why a file could not be read. The message says what is wrong ("is a directory, not a regular
// file") without the path: callers put the path and their context in front.
class FileReadError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

// The file's bytes; throws FileReadError when it is missing, not a regular file, unreadable or
// larger than `max_bytes` (found without reading past max_bytes + 1 bytes).
std::string read_regular_file(const std::filesystem::path& path, std::uintmax_t max_bytes);

}  // namespace hs
