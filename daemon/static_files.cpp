#include "daemon/static_files.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace hs::daemon {
namespace {

constexpr std::string_view kIndex = "index.html";
// What a page loads; no .json (package.json, package-lock.json) or any other kind.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
}};
// Name parts that mark a test, not a page's file.
constexpr std::array<std::string_view, 2> kTestMarks = {".test.", ".spec."};

bool plain_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

// The content type a served name has, or nullopt when the name is not the web client's.
std::optional<std::string_view> served_type(std::string_view name) {
  if (!plain_name(name)) return std::nullopt;
  if (std::any_of(kTestMarks.begin(), kTestMarks.end(), [&](auto mark) { return name.find(mark) != name.npos; }))
    return std::nullopt;
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto type = std::find_if(kTypes.begin(), kTypes.end(), [&](const auto& t) { return t.first == name.substr(dot); });
  if (type == kTypes.end()) return std::nullopt;
  return type->second;
}

}  // namespace

StaticFiles::StaticFiles(std::filesystem::path web_root) : root_(std::move(web_root)) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    // Regular files only, not links: a link could point anywhere.
    std::error_code status_ec;
    if (!entry.is_regular_file(status_ec) || entry.is_symlink(status_ec)) continue;
    const std::string name = entry.path().filename().string();
    if (const auto type = served_type(name)) files_.emplace(name, *type);
  }
}

std::optional<StaticFile> StaticFiles::find(std::string_view target) const {
  target = target.substr(0, target.find('?'));
  if (target.empty() || target.front() != '/') return std::nullopt;
  std::string_view name = target.substr(1);
  if (name.empty()) name = kIndex;
  const auto it = files_.find(name);
  if (it == files_.end()) return std::nullopt;
  return StaticFile{root_ / it->first, it->second};
}

}  // namespace hs::daemon
