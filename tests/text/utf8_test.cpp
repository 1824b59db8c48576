#include "engine/text/utf8.h"

#include <gtest/gtest.h>

namespace hs {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Sanitize, ValidTextIsUnchanged) {
  const std::string text =
      std::string("plain ASCII, ¿Dónde?, 雨の日, 🎵, \x7f and NUL ") + '\0' + " kept";
  EXPECT_EQ(utf8::sanitize(text), text);
  EXPECT_EQ(utf8::sanitize(""), "");
}

// The Unicode Standard's own example of "substitution of maximal subparts" (chapter 3, U+FFFD
// substitution, Table 3-8): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
TEST(Utf8Sanitize, ReplacesMaximalSubpartsLikeTheStandard) {
  const std::string bytes = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  EXPECT_EQ(utf8::sanitize(bytes),
            "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
}

TEST(Utf8Sanitize, RejectsOverlongsSurrogatesAndOutOfRange) {
  EXPECT_EQ(utf8::sanitize("\xC0\xAF"), kFffd + kFffd);  // overlong '/'
  EXPECT_EQ(utf8::sanitize("\xE0\x80\xAF"), kFffd + kFffd + kFffd);
  EXPECT_EQ(utf8::sanitize("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // U+D800
  EXPECT_EQ(utf8::sanitize("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(utf8::sanitize("x\xE6\x97"), "x" + kFffd);  // truncated at the end
  EXPECT_EQ(utf8::sanitize("\xFF"), kFffd);
}

TEST(Utf8, NextAndAppendRoundTrip) {
  for (const char32_t cp :
       {U'\0', U'A', U'\u00e9', U'\u0800', U'\uffff', U'\U00010000', U'\U0010FFFF'}) {
    std::string s;
    utf8::append(s, cp);
    std::size_t pos = 0;
    EXPECT_EQ(utf8::next(s, pos), cp);
    EXPECT_EQ(pos, s.size());
  }
}

}  // namespace
}  // namespace hs
