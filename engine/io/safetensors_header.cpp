#include "engine/io/safetensors_header.h"

#include <algorithm>
#include <array>
#include <limits>

#include "engine/core/error.h"
#include "engine/io/strict_json.h"

namespace hs {
namespace {

namespace json = boost::json;

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::array<std::string_view, 3> kEntryFields = {"dtype", "shape", "data_offsets"};
constexpr std::uint64_t kMaxDim = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

class HeaderParser {
 public:
  HeaderParser(std::uint64_t data_bytes, const std::string& file)
      : data_bytes_(data_bytes), label_(safetensors_label(file)) {}

  SafetensorsHeader parse(std::string_view text) {
    const json::value root = parse_strict_json(text, label_ + ": header");
    if (!root.is_object())
      fail("header is not a JSON object (found " + std::string(json_kind_name(root)) + ")");
    SafetensorsHeader header;
    for (const auto& [key, value] : root.as_object()) {
      const std::string name(key);
      if (name == kMetadataKey)
        header.metadata = parse_metadata(value);
      else
        header.tensors.push_back(parse_entry(name, value));
    }
    // Zero-size tensors share an offset with their successor: order by (begin, end), then file order.
    std::stable_sort(header.tensors.begin(), header.tensors.end(), [](const auto& a, const auto& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    check_tiling(header.tensors);
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(label_ + ": " + problem); }
  [[noreturn]] void fail(const std::string& tensor, const std::string& problem) const {
    fail("tensor '" + tensor + "': " + problem);
  }

  std::map<std::string, std::string> parse_metadata(const json::value& value) const {
    if (!value.is_object())
      fail("__metadata__ is not an object (found " + std::string(json_kind_name(value)) + ")");
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.as_object()) {
      if (!item.is_string())
        fail("__metadata__ value of '" + std::string(key) + "' is not a string (found " +
             std::string(json_kind_name(item)) + ")");
      metadata.emplace(std::string(key), std::string(item.as_string()));
    }
    return metadata;
  }

  // A non-negative integer that fits int64; `what` names it in errors.
  std::uint64_t parse_count(const std::string& tensor, const json::value& value, const std::string& what) const {
    if (value.is_int64()) {
      if (value.as_int64() < 0) fail(tensor, what + " is negative (" + std::to_string(value.as_int64()) + ")");
      return static_cast<std::uint64_t>(value.as_int64());
    }
    if (value.is_uint64()) {
      if (value.as_uint64() > kMaxDim) fail(tensor, what + " overflows int64 (" + std::to_string(value.as_uint64()) + ")");
      return value.as_uint64();
    }
    if (value.is_double()) fail(tensor, what + " is not an integer (overflowing or fractional number)");
    fail(tensor, what + " is not an integer (found " + std::string(json_kind_name(value)) + ")");
  }

  TensorInfo parse_entry(const std::string& name, const json::value& value) const {
    if (name.empty()) fail("empty tensor name");
    if (!value.is_object()) fail(name, "entry is not an object (found " + std::string(json_kind_name(value)) + ")");
    const json::object& entry = value.as_object();
    for (const auto& [key, item] : entry)
      if (std::find(kEntryFields.begin(), kEntryFields.end(), std::string_view(key)) == kEntryFields.end())
        fail(name, "unexpected field '" + std::string(key) + "'");
    for (const auto field : kEntryFields)
      if (!entry.contains(field)) fail(name, "missing field '" + std::string(field) + "'");

    TensorInfo info;
    info.name = name;
    const json::value& dtype = entry.at("dtype");
    if (!dtype.is_string()) fail(name, "dtype is not a string (found " + std::string(json_kind_name(dtype)) + ")");
    const auto parsed = dtype_from_name(std::string_view(dtype.as_string()));
    if (!parsed) fail(name, "unknown dtype '" + std::string(dtype.as_string()) + "'");
    info.dtype = *parsed;

    const json::value& shape = entry.at("shape");
    if (!shape.is_array()) fail(name, "shape is not an array (found " + std::string(json_kind_name(shape)) + ")");
    std::uint64_t numel = 1;
    bool numel_overflow = false;
    for (const auto& dim : shape.as_array()) {
      const std::uint64_t d = parse_count(name, dim, "shape dimension");
      info.shape.push_back(static_cast<std::int64_t>(d));
      numel_overflow = numel_overflow || __builtin_mul_overflow(numel, d, &numel);
    }

    const json::value& offsets = entry.at("data_offsets");
    if (!offsets.is_array() || offsets.as_array().size() != 2)
      fail(name, "data_offsets is not an array of exactly two integers");
    info.begin = parse_count(name, offsets.as_array()[0], "data_offsets begin");
    info.end = parse_count(name, offsets.as_array()[1], "data_offsets end");
    if (info.begin > info.end)
      fail(name, "data_offsets begin " + std::to_string(info.begin) + " is after end " + std::to_string(info.end));

    std::uint64_t bytes = 0;
    const bool any_zero = std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end();
    if (!any_zero && (numel_overflow || __builtin_mul_overflow(numel, dtype_size(info.dtype), &bytes)))
      fail(name, "size of shape " + shape_str(info.shape) + " overflows");
    if (bytes != info.end - info.begin)
      fail(name, "size mismatch: shape " + shape_str(info.shape) + " of " + std::string(dtype_name(info.dtype)) +
                     " needs " + std::to_string(bytes) + " bytes but data_offsets span " +
                     std::to_string(info.end - info.begin));
    return info;
  }

  void check_tiling(const std::vector<TensorInfo>& tensors) const {
    std::uint64_t expected = 0;
    const TensorInfo* previous = nullptr;
    for (const auto& t : tensors) {
      if (t.begin != expected) {
        const std::string kind = t.begin > expected ? "gap" : "overlap";
        fail(t.name, "data offsets not contiguous (" + kind + "): begins at " + std::to_string(t.begin) +
                         (previous ? " but '" + previous->name + "' ends at " : " but the data section starts at ") +
                         std::to_string(expected));
      }
      expected = t.end;
      previous = &t;
    }
    if (expected < data_bytes_)
      fail("data section has " + std::to_string(data_bytes_ - expected) + " trailing bytes after the last tensor");
    if (expected > data_bytes_)
      fail("file truncated: tensors need " + std::to_string(expected) + " data bytes but the data section holds " +
           std::to_string(data_bytes_));
  }

  std::uint64_t data_bytes_;
  std::string label_;
};

}  // namespace

std::string safetensors_label(const std::string& file) { return "safetensors file '" + file + "'"; }

SafetensorsHeader parse_safetensors_header(std::string_view text, std::uint64_t data_bytes,
                                           const std::string& file) {
  return HeaderParser(data_bytes, file).parse(text);
}

}  // namespace hs
