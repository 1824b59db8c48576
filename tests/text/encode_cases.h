// Reads ../shared/tokenizer/encode_cases.json: strings with the ids HuggingFace `tokenizers`
// returns for them (without and with the BOS post-processor) and their decoded text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hs::test {

struct EncodeCase {
  std::string text;
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> ids_with_bos;
  std::string decoded;
};

std::vector<EncodeCase> read_encode_cases(const std::filesystem::path& path);

}  // namespace hs::test
