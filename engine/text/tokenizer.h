// HuggingFace tokenizer.json (byte-level BPE, as Llama 3 uses): added/special tokens matched
// first, then the pre-tokenizer sequence Split(regex) + ByteLevel, BPE merges (with
// `ignore_merges`), and the TemplateProcessing post-processor (BOS).
//
// Input contract of encode():
// - Invalid UTF-8 is not an error: every maximal ill-formed subsequence is replaced by U+FFFD
//   before tokenization (what Python's bytes.decode(errors="replace") and Rust's
//   String::from_utf8_lossy produce), so the result is that of the HuggingFace tokenizer on the
//   lossily decoded string.
// - Inputs longer than kMaxInputBytes throw InvalidArgument naming the size and the cap.
// - Time is O(n log n) in the input length, also for a single huge "word" (no spaces).
//
// Supported file features (anything else is a FormatError naming the file and the feature):
// normalizer null; pre_tokenizer Sequence[Split(Regex, Isolated, invert false), ByteLevel(
// add_prefix_space false, use_regex false)]; model BPE (vocab, merges as "a b" strings or
// [a, b] pairs, ignore_merges, no dropout/byte_fallback/subword affixes); added_tokens without
// single_word/lstrip/rstrip; post_processor TemplateProcessing (optionally inside a Sequence with
// ByteLevel) or null; decoder ByteLevel; truncation and padding null.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

// Largest text encode() accepts, in bytes (1 MiB: far beyond any lyrics sheet).
inline constexpr std::size_t kMaxInputBytes = std::size_t{1} << 20;

class Tokenizer {
 public:
  // Parses and validates tokenizer.json; FormatError naming the file and what is unsupported.
  static Tokenizer load(const std::filesystem::path& path);

  // Token ids of `text` (UTF-8). add_special = true applies the post-processor (BOS).
  std::vector<std::int32_t> encode(std::string_view text, bool add_special = true) const;
  // Text of `ids`; skip_special drops added special tokens (e.g. <|begin_of_text|>). Bytes that
  // do not form valid UTF-8 come out as U+FFFD. InvalidArgument for an id outside the vocabulary.
  std::string decode(const std::vector<std::int32_t>& ids, bool skip_special = false) const;
  // Id of a token string, -1 if absent.
  std::int32_t token_to_id(std::string_view token) const;
  std::size_t vocab_size() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace hs
