#include "engine/io/checkpoint.h"

#include <vector>

#include "engine/core/error.h"

namespace hs {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMulaDirPrefix = "HeartMuLa-oss-";
constexpr std::string_view kCodecDir = "HeartCodec-oss";
constexpr std::string_view kGenConfigFile = "gen_config.json";
constexpr std::string_view kTokenizerFile = "tokenizer.json";

enum class Kind { Folder, File };

// Appends a line to `missing` when `path` is not the expected kind of entry.
void expect(const fs::path& path, Kind kind, std::vector<std::string>& missing) {
  std::error_code ec;
  const bool ok = kind == Kind::Folder ? fs::is_directory(path, ec) : fs::is_regular_file(path, ec);
  if (ok) return;
  const bool exists = fs::exists(path, ec);
  const std::string what = kind == Kind::Folder ? "folder" : "file";
  missing.push_back(exists ? what + " '" + path.string() + "' is not a " + what : "missing " + what + " '" + path.string() + "'");
}

}  // namespace

CheckpointPaths resolve_checkpoint(const fs::path& model_path, const std::string& version, bool need_codec) {
  if (version.empty() || version.find_first_of("/\\") != std::string::npos)
    throw InvalidArgument("checkpoint version '" + version + "' must be non-empty and hold no path separators");
  CheckpointPaths paths;
  paths.mula_dir = model_path / (std::string(kMulaDirPrefix) + version);
  paths.codec_dir = model_path / kCodecDir;
  paths.gen_config = model_path / kGenConfigFile;
  paths.tokenizer = model_path / kTokenizerFile;

  std::vector<std::string> missing;
  std::error_code ec;
  if (!fs::is_directory(model_path, ec))
    missing.push_back("the model path '" + model_path.string() + "' itself " +
                      (fs::exists(model_path, ec) ? "is not a folder" : "does not exist"));
  expect(paths.mula_dir, Kind::Folder, missing);
  if (need_codec) expect(paths.codec_dir, Kind::Folder, missing);
  expect(paths.gen_config, Kind::File, missing);
  expect(paths.tokenizer, Kind::File, missing);
  if (!missing.empty()) {
    std::string message = "checkpoint '" + model_path.string() + "' (version " + version + ") is incomplete:";
    for (const auto& line : missing) message += "\n  - " + line;
    throw FormatError(message);
  }
  return paths;
}

}  // namespace hs
