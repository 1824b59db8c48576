// The web client's files under the web root (server.web_root): an allowlist made once at start of
// the plain files directly in the root that a page needs (.html, .js, .css, images), so nothing
// else in the folder is ever served: not package.json or package-lock.json, node_modules or any
// other folder, dotfiles, tests (*.test.js, *.spec.js), or a file added after start.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hs::daemon {

struct StaticFile {
  std::filesystem::path path;
  std::string_view content_type;
};

class StaticFiles {
 public:
  // Lists `web_root` (a missing folder serves nothing).
  explicit StaticFiles(std::filesystem::path web_root);

  // "/" → index.html; "/app.js" → app.js (a query string is ignored); nullopt for a name not in the list.
  std::optional<StaticFile> find(std::string_view target) const;

 private:
  std::filesystem::path root_;
  std::map<std::string, std::string_view, std::less<>> files_;  // file name → content type
};

}  // namespace hs::daemon
