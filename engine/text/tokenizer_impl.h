// The parts of a loaded tokenizer (internal to hs_text).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/text/added_vocab.h"
#include "engine/text/bpe.h"
#include "engine/text/split_regex.h"
#include "engine/text/string_map.h"

namespace hs {

// Behind Tokenizer::Impl (tokenizer.cpp).
struct TokenizerData {
  std::filesystem::path path;
  AddedVocabulary added;
  SplitRegex split;
  BpeModel bpe;
  // The post-processor's template for one sequence: ids before and after it.
  std::vector<std::int32_t> template_prefix;
  std::vector<std::int32_t> template_suffix;
  // Per id (model vocabulary and added tokens; holes are empty and not `present`).
  std::vector<std::string> tokens;
  std::vector<std::string> decoded_bytes;  // what the ByteLevel decoder makes of the token
  std::vector<std::uint8_t> present;
  std::vector<std::uint8_t> special;
  StringMap<std::int32_t> token_ids;  // token string → id
};

// Parses tokenizer.json (tokenizer_json.cpp); FormatError naming `path` and the problem.
TokenizerData parse_tokenizer_json(const std::filesystem::path& path);

}  // namespace hs
