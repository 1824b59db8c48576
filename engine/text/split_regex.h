// The Split(Regex, behavior "Isolated") pre-tokenizer over PCRE2 (UTF + UCP, JIT-compiled when
// the library supports it). Every match becomes a pre-token and so does each stretch of text
// between matches.
//
// HuggingFace runs these patterns with Oniguruma (or fancy-regex), whose Unicode `\s` is exactly
// the White_Space property. PCRE2's UCP `\s` is \h ∪ \v ∪ \p{Z}, which also holds U+180E
// MONGOLIAN VOWEL SEPARATOR (a format character since Unicode 6.3), so `\s` / `\S` are rewritten
// at compile time to the explicit White_Space set.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hs {

using ByteSpan = std::pair<std::size_t, std::size_t>;  // [begin, end) in bytes

class SplitRegex {
 public:
  // Compiles `pattern` once; FormatError with PCRE2's message and offset if it is invalid.
  explicit SplitRegex(std::string_view pattern);
  ~SplitRegex();
  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;

  // Appends the pre-tokens of valid UTF-8 `text`, in order, to `out`. Thread-safe.
  void split(std::string_view text, std::vector<ByteSpan>& out) const;
  bool jit() const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

// `pattern` with `\s` / `\S` spelled as the White_Space set (see above); exposed for tests.
// FormatError for `\S` inside a character class, which has no simple rewrite.
std::string rewrite_space_classes(std::string_view pattern);

}  // namespace hs
