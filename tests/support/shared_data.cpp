#include "tests/support/shared_data.h"

#include <cstdlib>

namespace hs::test {

std::optional<std::filesystem::path> shared_path(const std::filesystem::path& relative) {
  const char* env = std::getenv("HEARTSTREAM_SHARED_DIR");
  const std::filesystem::path root = env && *env ? env : HEARTSTREAM_SHARED_DIR;
  std::error_code ec;
  const auto p = root / relative;
  if (!std::filesystem::exists(p, ec)) return std::nullopt;
  return p;
}

}  // namespace hs::test
