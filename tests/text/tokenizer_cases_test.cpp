// Exactness against HuggingFace `tokenizers`: every case of ../shared/tokenizer/encode_cases.json.
#include <gtest/gtest.h>

#include "engine/text/tokenizer.h"
#include "tests/support/shared_data.h"
#include "tests/text/encode_cases.h"

namespace hs {
namespace {

constexpr std::int32_t kBos = 128000;  // <|begin_of_text|> in the Llama-3 vocabulary

class TokenizerCases : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto tokenizer = test::shared_path("tokenizer/llama3-tokenizer.json");
    const auto cases = test::shared_path("tokenizer/encode_cases.json");
    if (!tokenizer || !cases) return;
    tokenizer_ = new Tokenizer(Tokenizer::load(*tokenizer));
    cases_ = new std::vector<test::EncodeCase>(test::read_encode_cases(*cases));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete cases_;
    tokenizer_ = nullptr;
    cases_ = nullptr;
  }
  void SetUp() override {
    HS_REQUIRE_SHARED(tokenizer_file, "tokenizer/llama3-tokenizer.json");
    HS_REQUIRE_SHARED(cases_file, "tokenizer/encode_cases.json");
    ASSERT_NE(tokenizer_, nullptr);
    ASSERT_FALSE(cases_->empty());
  }
  static Tokenizer* tokenizer_;
  static std::vector<test::EncodeCase>* cases_;
};

Tokenizer* TokenizerCases::tokenizer_ = nullptr;
std::vector<test::EncodeCase>* TokenizerCases::cases_ = nullptr;

TEST_F(TokenizerCases, VocabularyMatchesLlama3) {
  EXPECT_EQ(tokenizer_->vocab_size(), 128256u);
  EXPECT_EQ(tokenizer_->token_to_id("<|begin_of_text|>"), kBos);
  EXPECT_EQ(tokenizer_->token_to_id("<|end_of_text|>"), kBos + 1);
  EXPECT_EQ(tokenizer_->token_to_id("no such token"), -1);
}

TEST_F(TokenizerCases, EncodeWithoutSpecialMatchesEveryCase) {
  int failures = 0;
  for (std::size_t i = 0; i < cases_->size(); ++i) {
    const auto& c = (*cases_)[i];
    const auto ids = tokenizer_->encode(c.text, /*add_special=*/false);
    if (ids != c.ids) ++failures;
    EXPECT_EQ(ids, c.ids) << "case " << i << ": \"" << c.text << "\"";
  }
  EXPECT_EQ(failures, 0) << "of " << cases_->size() << " cases";
}

TEST_F(TokenizerCases, EncodeWithSpecialMatchesEveryCase) {
  for (std::size_t i = 0; i < cases_->size(); ++i) {
    const auto& c = (*cases_)[i];
    EXPECT_EQ(tokenizer_->encode(c.text, /*add_special=*/true), c.ids_with_bos)
        << "case " << i << ": \"" << c.text << "\"";
  }
}

TEST_F(TokenizerCases, DecodeMatchesEveryCase) {
  for (std::size_t i = 0; i < cases_->size(); ++i) {
    const auto& c = (*cases_)[i];
    EXPECT_EQ(tokenizer_->decode(c.ids), c.decoded) << "case " << i << ": \"" << c.text << "\"";
    // With BOS: the special token's text leads unless skipped.
    EXPECT_EQ(tokenizer_->decode(c.ids_with_bos), "<|begin_of_text|>" + c.decoded) << "case " << i;
    EXPECT_EQ(tokenizer_->decode(c.ids_with_bos, /*skip_special=*/true).size(),
              tokenizer_->decode(c.ids, /*skip_special=*/true).size())
        << "case " << i;
  }
}

}  // namespace
}  // namespace hs
