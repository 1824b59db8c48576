// HuggingFace tokenizer.json (byte-level BPE, as Llama 3 uses): added/special tokens matched
// first, then the pre-tokenizer sequence Split(regex) + ByteLevel, BPE merges (with
// `ignore_merges`), and the TemplateProcessing post-processor (BOS).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

class Tokenizer {
 public:
  // Parses and validates tokenizer.json; FormatError naming the file and what is unsupported.
  static Tokenizer load(const std::filesystem::path& path);

  // Token ids of `text` (UTF-8). add_special = true applies the post-processor (BOS).
  std::vector<std::int32_t> encode(std::string_view text, bool add_special = true) const;
  // Text of `ids`; skip_special drops added special tokens (e.g. <|begin_of_text|>).
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special = false) const;
  // Id of a token string, -1 if absent.
  std::int32_t token_to_id(std::string_view token) const;
  std::size_t vocab_size() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace hs
