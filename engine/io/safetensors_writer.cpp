// SafetensorsWriter: header JSON in the caller's order, then each tensor's data as it comes, then
// an atomic rename; write_safetensors on top of it.
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

std::string writing_label(const std::filesystem::path& path) {
  return "writing safetensors file '" + path.string() + "'";
}

std::string header_json(const std::vector<TensorSpec>& specs, const std::map<std::string, std::string>& metadata,
                        const std::string& label) {
  json::object root;
  if (!metadata.empty()) {
    json::object meta;
    for (const auto& [key, value] : metadata) meta[key] = value;
    root[kMetadataKey] = std::move(meta);
  }
  std::uint64_t offset = 0;
  std::set<std::string_view> seen;
  for (const TensorSpec& spec : specs) {
    if (spec.name.empty() || spec.name == kMetadataKey)
      throw InvalidArgument(label + ": invalid tensor name '" + spec.name + "'");
    if (!seen.insert(spec.name).second) throw InvalidArgument(label + ": tensor '" + spec.name + "' given twice");
    json::array shape;
    for (auto d : spec.shape) shape.push_back(d);
    const std::uint64_t end = offset + static_cast<std::uint64_t>(shape_numel(spec.shape)) * dtype_size(spec.dtype);
    root[spec.name] = json::object{{"dtype", dtype_name(spec.dtype)},
                                   {"shape", std::move(shape)},
                                   {"data_offsets", json::array{offset, end}}};
    offset = end;
  }
  std::string text = json::serialize(root);
  const std::size_t total = sizeof(std::uint64_t) + text.size();
  text.append((kHeaderAlignment - total % kHeaderAlignment) % kHeaderAlignment, ' ');
  return text;
}

void check_host_tensor(const Tensor& tensor, const std::string& name, const std::string& label) {
  if (!tensor.defined() || tensor.device() != Device::Cpu)
    throw InvalidArgument(label + ": tensor '" + name + "' is not a defined host tensor");
}

}  // namespace

struct SafetensorsWriter::Impl {
  std::filesystem::path path;
  std::filesystem::path tmp;
  std::string label;
  std::vector<TensorSpec> specs;
  std::size_t written = 0;  // specs whose data is in the file
  std::ofstream out;
  bool committed = false;
};

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorSpec> specs,
                                     const std::map<std::string, std::string>& metadata)
    : impl_(std::make_unique<Impl>()) {
  Impl& w = *impl_;
  w.path = path;
  w.label = writing_label(path);
  const std::string header = header_json(specs, metadata, w.label);
  w.specs = std::move(specs);
  // Unique per process and writer, so that concurrent writers of one path never share a file.
  static std::atomic<std::uint64_t> writers{0};
  w.tmp = path;
  w.tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(writers.fetch_add(1));
  w.out.open(w.tmp, std::ios::binary | std::ios::trunc);
  if (!w.out) throw Error(w.label + ": cannot create '" + w.tmp.string() + "' (" + std::strerror(errno) + ")");
  unsigned char length[sizeof(std::uint64_t)];
  for (std::size_t i = 0; i < sizeof(length); ++i) length[i] = static_cast<unsigned char>(header.size() >> (8 * i));
  w.out.write(reinterpret_cast<const char*>(length), sizeof(length));
  w.out.write(header.data(), static_cast<std::streamsize>(header.size()));
  if (!w.out) throw Error(w.label + ": write to '" + w.tmp.string() + "' failed");
}

SafetensorsWriter::~SafetensorsWriter() {
  if (!impl_->committed) {
    impl_->out.close();
    std::error_code ignored;
    std::filesystem::remove(impl_->tmp, ignored);
  }
}

void SafetensorsWriter::append(const Tensor& tensor) {
  Impl& w = *impl_;
  if (w.written == w.specs.size())
    throw InvalidArgument(w.label + ": append after all " + std::to_string(w.specs.size()) + " tensors");
  const TensorSpec& spec = w.specs[w.written];
  check_host_tensor(tensor, spec.name, w.label);
  if (tensor.dtype() != spec.dtype || tensor.shape() != spec.shape)
    throw InvalidArgument(w.label + ": tensor '" + spec.name + "' is " + std::string(dtype_name(tensor.dtype())) +
                          " " + shape_str(tensor.shape()) + ", its header says " + std::string(dtype_name(spec.dtype)) +
                          " " + shape_str(spec.shape));
  w.out.write(static_cast<const char*>(tensor.raw()), static_cast<std::streamsize>(tensor.bytes()));
  if (!w.out) throw Error(w.label + ": write to '" + w.tmp.string() + "' failed");
  ++w.written;
}

void SafetensorsWriter::commit() {
  Impl& w = *impl_;
  if (w.written != w.specs.size())
    throw Error(w.label + ": tensor '" + w.specs[w.written].name + "' was never appended");
  w.out.close();
  if (!w.out) throw Error(w.label + ": write to '" + w.tmp.string() + "' failed");
  std::error_code ec;
  std::filesystem::rename(w.tmp, w.path, ec);
  if (ec) throw Error(w.label + ": cannot rename '" + w.tmp.string() + "' into place (" + ec.message() + ")");
  w.committed = true;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    check_host_tensor(tensor, name, writing_label(path));
    specs.push_back({name, tensor.dtype(), tensor.shape()});
  }
  SafetensorsWriter writer(path, std::move(specs), metadata);
  for (const auto& [name, tensor] : tensors) writer.append(tensor);
  writer.commit();
}

}  // namespace hs
