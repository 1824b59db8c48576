#include "engine/io/strict_json.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include "engine/core/error.h"

namespace hs {
namespace {

namespace json = boost::json;

// A validating basic_parser handler that records the first key seen twice in one object.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  const std::optional<std::string>& duplicate() const { return duplicate_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    keys_.pop_back();
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    const bool fresh = keys_.back().insert(key_).second;
    if (!fresh) {
      duplicate_ = key_;
      ec = json::error::syntax;  // stops the parser; duplicate_ says why
    }
    key_.clear();
    return fresh;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::vector<std::unordered_set<std::string>> keys_;  // one set per open object
  std::string key_;
  std::optional<std::string> duplicate_;
};

[[noreturn]] void fail(std::string_view what, const std::string& problem) {
  throw FormatError(std::string(what) + ": " + problem);
}

// Offset of the first byte that breaks UTF-8 (RFC 3629: shortest form, no surrogates, at most
// U+10FFFF), or nullopt when `text` is valid.
std::optional<std::size_t> invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (len > n - i) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char b = s[i + k];
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return std::nullopt;
}

}  // namespace

json::value parse_strict_json(std::string_view text, std::string_view what) {
  if (const auto at = invalid_utf8_at(text)) fail(what, "not valid UTF-8 at byte " + std::to_string(*at));
  const json::parse_options options;  // strict: no comments, no trailing commas, UTF-8 checked
  json::basic_parser<DuplicateKeyFinder> checker(options);
  json::error_code ec;
  const std::size_t used = checker.write_some(false, text.data(), text.size(), ec);
  if (checker.handler().duplicate())
    fail(what, "invalid JSON: duplicate key \"" + *checker.handler().duplicate() + "\"");
  if (ec) fail(what, "invalid JSON (" + ec.message() + ") at byte " + std::to_string(used));
  if (used != text.size()) fail(what, "invalid JSON: extra data at byte " + std::to_string(used));

  json::value value = json::parse(json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) fail(what, "invalid JSON (" + ec.message() + ")");
  return value;
}

json::value read_strict_json_file(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(what, "missing or not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(what, "cannot open the file (unreadable)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(what, "read error");
  return parse_strict_json(text.str(), what);
}

std::string_view json_kind_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a floating-point number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "an unknown value";
}

}  // namespace hs
