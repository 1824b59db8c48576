// The web client's files under the web root: which request paths map to which file, and their
// MIME types. Only plain names directly inside the root are served (no folders, no "..").
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace hs::daemon {

struct StaticFile {
  std::filesystem::path path;
  std::string_view content_type;
};

// "/" → index.html; "/app.js" → app.js; nullopt for anything else (bad names, unknown types,
// missing files).
std::optional<StaticFile> find_static_file(const std::filesystem::path& web_root, std::string_view target);

}  // namespace hs::daemon
