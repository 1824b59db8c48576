// write_safetensors: header JSON in the caller's order, contiguous data, atomic rename.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

namespace hs {
namespace {

namespace json = boost::json;

constexpr std::size_t kHeaderAlignment = 8;  // data section starts 8-byte aligned
constexpr std::string_view kMetadataKey = "__metadata__";

std::string header_json(const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata, const std::string& label) {
  json::object root;
  if (!metadata.empty()) {
    json::object meta;
    for (const auto& [key, value] : metadata) meta[key] = value;
    root[kMetadataKey] = std::move(meta);
  }
  std::uint64_t offset = 0;
  std::set<std::string_view> seen;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == kMetadataKey) throw InvalidArgument(label + ": invalid tensor name '" + name + "'");
    if (!seen.insert(name).second) throw InvalidArgument(label + ": tensor '" + name + "' given twice");
    if (!tensor.defined() || tensor.device() != Device::Cpu)
      throw InvalidArgument(label + ": tensor '" + name + "' is not a defined host tensor");
    json::array shape;
    for (auto d : tensor.shape()) shape.push_back(d);
    const std::uint64_t end = offset + tensor.bytes();
    root[name] = json::object{{"dtype", dtype_name(tensor.dtype())},
                              {"shape", std::move(shape)},
                              {"data_offsets", json::array{offset, end}}};
    offset = end;
  }
  std::string text = json::serialize(root);
  const std::size_t total = sizeof(std::uint64_t) + text.size();
  text.append((kHeaderAlignment - total % kHeaderAlignment) % kHeaderAlignment, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string label = "writing safetensors file '" + path.string() + "'";
  const std::string header = header_json(tensors, metadata, label);
  // Unique per process and call, so that concurrent writers of one path never share a file.
  static std::atomic<std::uint64_t> writes{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(writes.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(label + ": cannot create '" + tmp.string() + "' (" + std::strerror(errno) + ")");
    unsigned char length[sizeof(std::uint64_t)];
    for (std::size_t i = 0; i < sizeof(length); ++i) length[i] = static_cast<unsigned char>(header.size() >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), sizeof(length));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& [name, tensor] : tensors)
      out.write(static_cast<const char*>(tensor.raw()), static_cast<std::streamsize>(tensor.bytes()));
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw Error(label + ": write to '" + tmp.string() + "' failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error(label + ": cannot rename '" + tmp.string() + "' into place (" + ec.message() + ")");
  }
}

}  // namespace hs
