// Strict JSON for the files io reads (safetensors headers, index files, configs): RFC 8259 only
// (no comments, no trailing commas), valid UTF-8, and no key repeated within one object —
// Boost.JSON's own parse() silently keeps one of two equal keys, which would let a file say two
// things at once.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace hs {

// Parses `text`; on any violation throws FormatError "<what>: <problem>".
boost::json::value parse_strict_json(std::string_view text, std::string_view what);

// Reads the whole file at `path` and parses it strictly; `what` names the file in errors.
boost::json::value read_strict_json_file(const std::filesystem::path& path, std::string_view what);

// A short description of a value's kind for error messages ("string", "array", ...).
std::string_view json_kind_name(const boost::json::value& value);

}  // namespace hs
