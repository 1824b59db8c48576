// Expected values are the Unicode Character Database's lowercase mappings (what Python's
// str.lower() returns), written out per script.
#include "engine/text/unicode_lower.h"

#include <gtest/gtest.h>

namespace hs {
namespace {

TEST(UnicodeLower, Ascii) {
  EXPECT_EQ(unicode_lower("Hello, WORLD! [Verse 1]"), "hello, world! [verse 1]");
}

TEST(UnicodeLower, LatinRanges) {
  EXPECT_EQ(unicode_lower("¿DÓNDE ESTÁS? ÀÉÎÕÜÇÑØÞ"), "¿dónde estás? àéîõüçñøþ");
  EXPECT_EQ(unicode_lower("ĀĂĄĆŁŃŒŠŸŽ"), "āăąćłńœšÿž");  // Latin Extended-A
  EXPECT_EQ(unicode_lower("ǄǅǇ ẞ"), "ǆǆǉ ß");            // titlecase digraphs, capital sharp s
  EXPECT_EQ(unicode_lower("ß ÿ µ"), "ß ÿ µ");            // lowercase stays
}

TEST(UnicodeLower, GreekWithFinalSigma) {
  EXPECT_EQ(unicode_lower("ΑΒΓΔ ΆΈΉ"), "αβγδ άέή");
  EXPECT_EQ(unicode_lower("ΟΔΟΣ"), "οδο\u03c2");  // word-final: ς
  EXPECT_EQ(unicode_lower("ΣΑ"), "\u03c3α");      // word-initial: σ
  EXPECT_EQ(unicode_lower("ΟΔΟΣ ΣΑ"), "οδο\u03c2 \u03c3α");
  EXPECT_EQ(unicode_lower("Σ"), "\u03c3");            // alone: not final (nothing cased before)
  EXPECT_EQ(unicode_lower("ΟΔΟΣ's"), "οδο\u03c3's");  // the apostrophe is case-ignorable
}

TEST(UnicodeLower, CyrillicArmenianGeorgianAndBeyond) {
  EXPECT_EQ(unicode_lower("ПРИВЕТ, МИР! ЁЇЄЎ"), "привет, мир! ёїєў");
  EXPECT_EQ(unicode_lower("ԱԲԳ"), "աբգ");
  EXPECT_EQ(unicode_lower("ႠႡ"), "ⴀⴁ");
  EXPECT_EQ(unicode_lower("ⒶⓏ ＡＺ"), "ⓐⓩ ａｚ");
  EXPECT_EQ(unicode_lower("\U00010400"), "\U00010428");  // Deseret
}

TEST(UnicodeLower, CapitalIWithDotBecomesTwoCodePoints) {
  EXPECT_EQ(unicode_lower("İ"), "i\u0307");
}

TEST(UnicodeLower, UncasedScriptsUnchanged) {
  const std::string text = "雨の日も 사랑해요 مرحبا नमस्ते 🎵 12345";
  EXPECT_EQ(unicode_lower(text), text);
}

}  // namespace
}  // namespace hs
