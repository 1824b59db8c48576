// Scratch files for the fuzz targets whose code under test reads a path (tokenizer.json, a web
// root): one folder per process under the system's temporary directory, removed at exit.
#pragma once

#include <filesystem>
#include <string_view>

namespace hs::fuzz {

// This process's scratch folder (created on first use).
const std::filesystem::path& scratch_dir();

// Writes `bytes` to `path`, replacing it; aborts when the write fails (a broken fuzz setup).
void write_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace hs::fuzz
