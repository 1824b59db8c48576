// Where tests find ../shared (goldens, tokenizer): $HEARTSTREAM_SHARED_DIR, else the folder
// configured at build time (the checkout's sibling `shared/`).
#pragma once

#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

namespace hs::test {

// The shared folder if it exists and holds `relative` (a file or folder inside it).
std::optional<std::filesystem::path> shared_path(const std::filesystem::path& relative);

}  // namespace hs::test

// Binds `var` to the shared path `relative`, or skips the test with a message saying what is missing.
#define HS_REQUIRE_SHARED(var, relative)                                                       \
  const auto var##_opt = ::hs::test::shared_path(relative);                                    \
  if (!var##_opt) GTEST_SKIP() << "shared data absent: " << (relative)                         \
                               << " (set HEARTSTREAM_SHARED_DIR to the shared/ folder)";       \
  const std::filesystem::path var = *var##_opt
