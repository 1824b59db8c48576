#include "engine/text/split_regex.h"

#include <gtest/gtest.h>

#include "engine/core/error.h"

namespace hs {
namespace {

// The Llama-3 pre-tokenizer pattern.
constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::vector<std::string> pieces(const SplitRegex& re, std::string_view text) {
  std::vector<ByteSpan> spans;
  re.split(text, spans);
  std::vector<std::string> out;
  for (const auto& [b, e] : spans) out.emplace_back(text.substr(b, e - b));
  return out;
}

TEST(SplitRegex, Llama3PatternSplitsWordsNumbersAndSpaces) {
  const SplitRegex re(kLlama3Pattern);
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(re, "Hello world!"), (V{"Hello", " world", "!"}));
  EXPECT_EQ(pieces(re, "I'LL 12345"), (V{"I", "'LL", " ", "123", "45"}));
  EXPECT_EQ(pieces(re, "a  b\n\nc"), (V{"a", " ", " b", "\n\n", "c"}));
  EXPECT_EQ(pieces(re, ""), V{});
}

// \s is Unicode White_Space, as in Oniguruma: U+0085 NEXT LINE splits like a space
// ("a  b" → "a", " ", " b"), U+180E MONGOLIAN VOWEL SEPARATOR (a format character, which PCRE2's
// own \s would count as a space) like punctuation.
TEST(SplitRegex, WhitespaceIsUnicodeWhiteSpaceLikeOniguruma) {
  const SplitRegex re(kLlama3Pattern);
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(re, "a\u0085\u0085b"), (V{"a", "\u0085", "\u0085b"}));
  EXPECT_EQ(pieces(re, "a\u3000\u3000b"), (V{"a", "\u3000", "\u3000b"}));
  EXPECT_EQ(pieces(re, "a\u180E\u180Eb"), (V{"a", "\u180E\u180E", "b"}));
}

TEST(SplitRegex, StretchesBetweenMatchesArePreTokensToo) {
  const SplitRegex re("[0-9]+");
  EXPECT_EQ(pieces(re, "ab12cd3"), (std::vector<std::string>{"ab", "12", "cd", "3"}));
}

TEST(SplitRegex, RewriteSpaceClasses) {
  const std::string ws =
      R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
  EXPECT_EQ(rewrite_space_classes(R"(\s+(?!\S))"), "[" + ws + "]+(?![^" + ws + "])");
  EXPECT_EQ(rewrite_space_classes(R"([^\s\p{L}]\\s)"), "[^" + ws + R"(\p{L}]\\s)");
  EXPECT_EQ(rewrite_space_classes(R"([]\s])"), "[]" + ws + "]");
  EXPECT_EQ(rewrite_space_classes(R"(\p{N}{1,3}|\[)"), R"(\p{N}{1,3}|\[)");
  EXPECT_THROW(rewrite_space_classes(R"([\S])"), FormatError);
}

TEST(SplitRegex, InvalidPatternIsFormatError) {
  EXPECT_THROW(SplitRegex("(unclosed"), FormatError);
}

}  // namespace
}  // namespace hs
