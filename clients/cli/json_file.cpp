#include "clients/cli/json_file.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace hs::cli {
namespace {

namespace json = boost::json;

void write(std::ostream& out, const json::value& v, int depth) {
  const std::string indent(static_cast<std::size_t>(2 * (depth + 1)), ' ');
  const std::string closing(static_cast<std::size_t>(2 * depth), ' ');
  if (v.is_double()) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.10g", v.get_double());
    out << buf.data();
  } else if (v.is_object() && !v.get_object().empty()) {
    const char* sep = "";
    out << "{";
    for (const auto& [key, value] : v.get_object()) {
      out << sep << "\n" << indent << json::serialize(json::value(key)) << ": ";
      write(out, value, depth + 1);
      sep = ",";
    }
    out << "\n" << closing << "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    // Arrays of numbers or strings on one line (shapes, lists of names); of objects, one a line.
    const bool flat = !v.get_array().front().is_structured();
    const char* sep = "";
    out << "[";
    for (const json::value& item : v.get_array()) {
      out << sep;
      if (!flat) out << "\n" << indent;
      write(out, item, depth + 1);
      sep = flat ? ", " : ",";
    }
    if (!flat) out << "\n" << closing;
    out << "]";
  } else {
    out << json::serialize(v);
  }
}

}  // namespace

std::string json_text(const json::value& value) {
  std::ostringstream out;
  write(out, value, 0);
  out << "\n";
  return out.str();
}

bool write_json_file(const std::filesystem::path& path, const json::value& value) {
  const std::string text = json_text(value);
  {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream old;
    if (in && (old << in.rdbuf()) && old.str() == text) return false;
  }
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw InvalidArgument("cannot write '" + tmp.string() + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw InvalidArgument("cannot write '" + path.string() + "': " + ec.message());
  return true;
}

}  // namespace hs::cli
