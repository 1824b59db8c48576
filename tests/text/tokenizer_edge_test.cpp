// Invalid UTF-8, the input cap and pathological inputs on the real Llama-3 tokenizer. No timing
// asserts: pathological inputs must simply finish and round-trip.
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/text/tokenizer.h"
#include "engine/text/utf8.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

constexpr std::size_t kPathologicalBytes = 200 * 1024;
constexpr unsigned kSeed = 1234;

class TokenizerEdges : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (const auto path = test::shared_path("tokenizer/llama3-tokenizer.json"))
      tokenizer_ = new Tokenizer(Tokenizer::load(*path));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  void SetUp() override {
    HS_REQUIRE_SHARED(tokenizer_file, "tokenizer/llama3-tokenizer.json");
    ASSERT_NE(tokenizer_, nullptr);
  }
  void expect_round_trip(const std::string& text) const {
    const std::vector<std::int32_t> ids = tokenizer_->encode(text, false);
    EXPECT_FALSE(ids.empty());
    EXPECT_TRUE(tokenizer_->decode(ids) == text)
        << "round trip of " << text.size() << " bytes differs";
  }
  static Tokenizer* tokenizer_;
};

Tokenizer* TokenizerEdges::tokenizer_ = nullptr;

std::string repeat_code_point(char32_t cp, std::size_t bytes) {
  std::string unit;
  utf8::append(unit, cp);
  std::string out;
  while (out.size() + unit.size() <= bytes) out += unit;
  return out;
}

std::string random_text(std::size_t bytes, char32_t lo, char32_t hi) {
  std::mt19937 rng(kSeed);
  std::uniform_int_distribution<std::uint32_t> dist(lo, hi);
  std::string out;
  while (out.size() < bytes) {
    const char32_t cp = dist(rng);
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates are not scalar values
    utf8::append(out, cp);
  }
  return out;
}

TEST_F(TokenizerEdges, InvalidUtf8IsReplacedByFffdBeforeTokenizing) {
  EXPECT_EQ(tokenizer_->encode("ab\xFF"
                               "cd"),
            tokenizer_->encode("ab\uFFFD"
                               "cd"));
  EXPECT_EQ(tokenizer_->encode("x\xE6\x97"), tokenizer_->encode("x\uFFFD"));
  EXPECT_EQ(tokenizer_->encode("\xC0\xAF!"), tokenizer_->encode("\uFFFD\uFFFD!"));
  EXPECT_EQ(tokenizer_->decode(tokenizer_->encode("ab\xFF"
                                                  "cd",
                                                  false)),
            "ab\uFFFD"
            "cd");
}

TEST_F(TokenizerEdges, DecodeOfPartialCharacterGivesFffd) {
  // "é" is two byte tokens' worth; its first byte alone is no valid UTF-8.
  const std::vector<std::int32_t> ids = tokenizer_->encode("\xC3", false);
  EXPECT_EQ(tokenizer_->decode(ids), "\uFFFD");
  const std::int32_t lead_byte = tokenizer_->token_to_id("\u00C3");  // byte 0xC3's symbol
  ASSERT_GE(lead_byte, 0);
  EXPECT_EQ(tokenizer_->decode({lead_byte}), "\uFFFD");
}

TEST_F(TokenizerEdges, InputCapThrowsWithSizeAndCap) {
  const std::string too_long(kMaxInputBytes + 1, 'a');
  try {
    tokenizer_->encode(too_long);
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(kMaxInputBytes + 1)), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(kMaxInputBytes)), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(tokenizer_->encode(std::string(kMaxInputBytes, 'a')).empty());
}

TEST_F(TokenizerEdges, DecodeRejectsIdsOutsideTheVocabulary) {
  EXPECT_THROW(tokenizer_->decode({-1}), InvalidArgument);
  EXPECT_THROW(tokenizer_->decode({static_cast<std::int32_t>(tokenizer_->vocab_size())}),
               InvalidArgument);
}

TEST_F(TokenizerEdges, SkipSpecialDropsSpecialTokensOnly) {
  const std::vector<std::int32_t> ids = tokenizer_->encode("<|end_of_text|>la");
  EXPECT_EQ(tokenizer_->decode(ids), "<|begin_of_text|><|end_of_text|>la");
  EXPECT_EQ(tokenizer_->decode(ids, /*skip_special=*/true), "la");
}

TEST_F(TokenizerEdges, HugeSingleLetterWordFinishesAndRoundTrips) {
  expect_round_trip(std::string(kPathologicalBytes, 'a'));
}

TEST_F(TokenizerEdges, HugeRandomCjkWithoutSpacesFinishesAndRoundTrips) {
  expect_round_trip(random_text(kPathologicalBytes, 0x4E00, 0x9FFF));
}

TEST_F(TokenizerEdges, HugeRunsOfSpacesDigitsPunctuationAndEmojiRoundTrip) {
  expect_round_trip(std::string(kPathologicalBytes, ' ') + "x");
  expect_round_trip(std::string(kPathologicalBytes, '\n'));
  expect_round_trip(std::string(kPathologicalBytes, '7'));
  expect_round_trip(std::string(kPathologicalBytes, '!'));
  expect_round_trip(repeat_code_point(U'\U0001F3B5', kPathologicalBytes));
  std::string alternating;
  while (alternating.size() < kPathologicalBytes) alternating += " \n\t";
  expect_round_trip(alternating);
}

TEST_F(TokenizerEdges, RandomScalarValuesRoundTrip) {
  expect_round_trip(random_text(64 * 1024, 1, 0x10FFFF));
  expect_round_trip(random_text(64 * 1024, 1, 0x2FF));
}

}  // namespace
}  // namespace hs
