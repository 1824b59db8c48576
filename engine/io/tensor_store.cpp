// TensorStore: one safetensors file, or the shards of a checkpoint folder.
#include <algorithm>
#include <set>

#include "engine/core/error.h"
#include "engine/io/fp8_weight_cache.h"
#include "engine/io/safetensors.h"
#include "engine/io/strict_json.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kIndexFile = "model.safetensors.index.json";
constexpr std::string_view kSafetensorsExtension = ".safetensors";

std::string store_label(const fs::path& path) { return "tensor store '" + path.string() + "'"; }

// The index's weight_map (tensor → shard file name), with every shard kept inside `dir`.
std::map<std::string, std::string> read_weight_map(const fs::path& dir) {
  const fs::path index_path = dir / kIndexFile;
  const std::string label = "safetensors index '" + index_path.string() + "'";
  const json::value root = read_strict_json_file(index_path, label);
  if (!root.is_object()) throw FormatError(label + ": not a JSON object");
  const json::value* map = root.as_object().if_contains("weight_map");
  if (!map) throw FormatError(label + ": missing key 'weight_map'");
  if (!map->is_object()) throw FormatError(label + ": 'weight_map' is not an object");
  std::map<std::string, std::string> weight_map;
  for (const auto& [key, value] : map->as_object()) {
    const std::string tensor(key);
    if (!value.is_string())
      throw FormatError(label + ": weight_map entry '" + tensor + "' is not a string (found " +
                        std::string(json_kind_name(value)) + ")");
    const std::string shard(value.as_string());
    const fs::path shard_path(shard);
    const bool escapes = shard.empty() || shard_path.has_root_path() ||
                         std::any_of(shard_path.begin(), shard_path.end(), [](const fs::path& p) { return p == ".."; });
    if (escapes)
      throw FormatError(label + ": shard '" + shard + "' of tensor '" + tensor + "' escapes the checkpoint folder");
    weight_map.emplace(tensor, shard_path.lexically_normal().string());
  }
  return weight_map;
}

}  // namespace

TensorStore TensorStore::open(const fs::path& path) {
  TensorStore store;
  store.path_ = path;
  const std::string label = store_label(path);
  std::error_code ec;
  std::map<std::string, std::string> weight_map;  // only for indexed folders
  if (fs::is_regular_file(path, ec)) {
    store.files_.push_back(SafetensorsFile::open(path));
  } else if (!fs::is_directory(path, ec)) {
    throw FormatError(label + ": no such file or folder");
  } else if (fs::is_regular_file(path / kIndexFile, ec)) {
    weight_map = read_weight_map(path);
    std::set<std::string> opened;  // shard names
    for (const auto& [tensor, shard] : weight_map) {
      if (!opened.insert(shard).second) continue;
      if (!fs::is_regular_file(path / shard, ec))
        throw FormatError(label + ": shard '" + shard + "' listed in " + std::string(kIndexFile) + " is missing");
      store.files_.push_back(SafetensorsFile::open(path / shard));
    }
  } else {
    std::vector<fs::path> candidates;
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.path().extension() == kSafetensorsExtension && !is_weight_cache_file(entry.path()) &&
          entry.is_regular_file(ec))
        candidates.push_back(entry.path());
    if (ec) throw FormatError(label + ": cannot list the folder (" + ec.message() + ")");
    if (candidates.size() != 1)
      throw FormatError(label + ": folder has no " + std::string(kIndexFile) + " and " +
                        std::to_string(candidates.size()) + " .safetensors files (need exactly one)");
    store.files_.push_back(SafetensorsFile::open(candidates.front()));
  }

  for (std::size_t i = 0; i < store.files_.size(); ++i) {
    for (const auto& info : store.files_[i].tensors()) {
      const auto [it, fresh] = store.index_.emplace(info.name, i);
      if (!fresh)
        throw FormatError(label + ": tensor '" + info.name + "' is in two files: '" +
                          store.files_[it->second].path().string() + "' and '" + store.files_[i].path().string() + "'");
      if (!weight_map.empty() && weight_map.find(info.name) == weight_map.end())
        throw FormatError(label + ": tensor '" + info.name + "' in '" + store.files_[i].path().string() +
                          "' is not listed in " + std::string(kIndexFile));
    }
  }
  for (const auto& [tensor, shard] : weight_map) {
    const auto it = store.index_.find(tensor);
    if (it == store.index_.end() || store.files_[it->second].path() != path / shard)
      throw FormatError(label + ": tensor '" + tensor + "' is listed in " + std::string(kIndexFile) +
                        " under shard '" + shard + "' but that shard lacks it");
  }
  return store;
}

bool TensorStore::contains(std::string_view name) const { return index_.find(name) != index_.end(); }

Tensor TensorStore::get(std::string_view name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) throw FormatError(store_label(path_) + ": tensor '" + std::string(name) + "' not found");
  return files_[it->second].get(name);
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> names;
  names.reserve(index_.size());
  for (const auto& [name, file] : index_) names.push_back(name);
  return names;
}

const fs::path& TensorStore::path() const { return path_; }

std::vector<fs::path> TensorStore::files() const {
  std::vector<fs::path> paths;
  for (const SafetensorsFile& file : files_) paths.push_back(file.path());
  return paths;
}

}  // namespace hs
