// safetensors files: a memory-mapped, fully validated reader, a sharded-checkpoint view, a writer.
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets},
// "__metadata__": {str: str}}, then the data section. Every violation is a FormatError naming the
// file, the tensor (when there is one) and the problem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace hs {

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets into the data section, [begin, end)
  std::uint64_t end = 0;
};

// Largest header accepted (the format's own limit is 100 MB).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

class SafetensorsFile {
 public:
  // Maps and validates the whole file; throws FormatError.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  // In file order (ascending data offsets).
  const std::vector<TensorInfo>& tensors() const;
  const std::map<std::string, std::string>& metadata() const;
  bool contains(std::string_view name) const;
  const TensorInfo& info(std::string_view name) const;  // FormatError if absent
  // A host view into the mapping (zero copy; keeps the mapping alive). FormatError if absent.
  Tensor get(std::string_view name) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// The tensors of a checkpoint folder or file: one `*.safetensors` file, or shards listed in
// `model.safetensors.index.json` ({"weight_map": {tensor: shard file}}). A name present in two
// files, or a shard file that lacks a tensor its index lists, is a FormatError. heartstream's own
// fp8 weight cache (kFp8CacheFileName, engine/io/fp8_weight_cache.h) is never one of the files.
class TensorStore {
 public:
  // `path` is a .safetensors file or a folder holding an index or exactly one .safetensors file.
  static TensorStore open(const std::filesystem::path& path);

  bool contains(std::string_view name) const;
  Tensor get(std::string_view name) const;  // FormatError naming the store if absent
  std::vector<std::string> names() const;   // sorted
  const std::filesystem::path& path() const;
  // The safetensors files the tensors come from (one, or the shards the index lists).
  std::vector<std::filesystem::path> files() const;

 private:
  std::filesystem::path path_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::size_t, std::less<>> index_;  // tensor name → files_ index
};

// What the header says of one tensor SafetensorsWriter writes.
struct TensorSpec {
  std::string name;
  DType dtype;
  Shape shape;
};

// Writes a safetensors file one tensor at a time, so that a file larger than memory can be written
// from tensors made on the fly (random weights of the released sizes). The header, from `specs` in
// file order, is written at construction; append() takes the tensors' data in that order; commit()
// renames the finished file into place. Until then the file has a temporary name unique to the
// process and writer (`path`.tmp.<pid>.<n>), so readers never see a partial file and concurrent
// writers never share one; a writer destroyed uncommitted removes it. Errors name the path.
class SafetensorsWriter {
 public:
  // InvalidArgument for an empty, reserved ("__metadata__") or repeated name; Error if the file
  // cannot be created.
  SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorSpec> specs,
                    const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Writes the next spec's data: a host tensor of its dtype and shape (InvalidArgument otherwise,
  // or when every spec is written). Error when the write fails (e.g. a full disk).
  void append(const Tensor& tensor);
  // Error if a spec's tensor is missing or the file cannot be renamed into place.
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes host tensors (any dtype) in the given order, with optional string metadata, through a
// SafetensorsWriter (temporary name, then rename).
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace hs
