#include "daemon/static_files.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace hs::daemon {
namespace {

constexpr std::string_view kIndex = "index.html";
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kTypes = {{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
}};

bool plain_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

std::optional<StaticFile> find_static_file(const std::filesystem::path& web_root, std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.empty() || target.front() != '/') return std::nullopt;
  std::string_view name = target.substr(1);
  if (name.empty()) name = kIndex;
  if (!plain_name(name)) return std::nullopt;
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto type = std::find_if(kTypes.begin(), kTypes.end(), [&](const auto& t) { return t.first == name.substr(dot); });
  if (type == kTypes.end()) return std::nullopt;
  std::filesystem::path path = web_root / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  return StaticFile{std::move(path), type->second};
}

}  // namespace hs::daemon
