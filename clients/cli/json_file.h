// JSON files people read: indented two spaces, keys in the order built, numbers as people write
// them ("30", "0.0812", not "3E1"). Written atomically (a temporary file, then a rename).
#pragma once

#include <filesystem>
#include <string>

#include <boost/json.hpp>

namespace hs::cli {

std::string json_text(const boost::json::value& value);

// Writes json_text(value) to `path` unless the file already holds exactly that text; returns whether
// it wrote. InvalidArgument naming the path when it cannot be written.
bool write_json_file(const std::filesystem::path& path, const boost::json::value& value);

}  // namespace hs::cli
