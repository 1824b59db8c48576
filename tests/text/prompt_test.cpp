// The prompt builder against the reference's own prompts (../shared/golden, inputs in
// MANIFEST.json).
#include "engine/text/prompt.h"

#include <fstream>
#include <iterator>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

struct GoldenInputs {
  std::string tags;
  std::string lyrics;
  float cfg_scale = 1.0f;
};

GoldenInputs read_manifest_case(const std::filesystem::path& manifest, const std::string& name) {
  std::ifstream in(manifest, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const boost::json::value doc = boost::json::parse(text);
  const auto& c = doc.at(name).as_object();
  return GoldenInputs{std::string(c.at("tags").as_string()),
                      std::string(c.at("lyrics").as_string()),
                      static_cast<float>(c.at("cfg_scale").to_number<double>())};
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

class PromptGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(PromptGolden, MatchesReferencePrompt) {
  HS_REQUIRE_SHARED(tokenizer_file, "tokenizer/llama3-tokenizer.json");
  HS_REQUIRE_SHARED(manifest, "golden/MANIFEST.json");
  HS_REQUIRE_SHARED(gen_config, "golden/gen_config.json");
  const std::string name = GetParam();
  HS_REQUIRE_SHARED(golden_file, "golden/" + name + ".safetensors");

  const Tokenizer tokenizer = Tokenizer::load(tokenizer_file);
  const GenConfig gen = read_gen_config(gen_config);
  const GoldenInputs in = read_manifest_case(manifest, name);
  const Prompt prompt = build_prompt(tokenizer, gen, in.tags, in.lyrics, in.cfg_scale);

  const SafetensorsFile golden = SafetensorsFile::open(golden_file);
  const Tensor tokens = golden.get("prompt_tokens");
  const Tensor mask = golden.get("prompt_mask");
  const Tensor muq_idx = golden.get("muq_idx");
  ASSERT_EQ(prompt.tokens.dtype(), DType::I32);
  ASSERT_EQ(prompt.mask.dtype(), DType::U8);
  ASSERT_EQ(prompt.tokens.shape(), tokens.shape()) << shape_str(prompt.tokens.shape());
  ASSERT_EQ(prompt.mask.shape(), mask.shape());
  EXPECT_EQ(prompt.batch(), in.cfg_scale != 1.0f ? 2 : 1);
  EXPECT_EQ(values<std::int32_t>(prompt.tokens), values<std::int32_t>(tokens));
  EXPECT_EQ(values<std::uint8_t>(prompt.mask), values<std::uint8_t>(mask));
  for (const std::int32_t index : values<std::int32_t>(muq_idx)) EXPECT_EQ(prompt.muq_index, index);
}

INSTANTIATE_TEST_SUITE_P(Golden, PromptGolden, ::testing::Values("mula_cfg", "mula_nocfg"),
                         [](const auto& info) { return std::string(info.param); });

class PromptRules : public ::testing::Test {
 protected:
  void SetUp() override {
    HS_REQUIRE_SHARED(tokenizer_file, "tokenizer/llama3-tokenizer.json");
    tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(tokenizer_file));
    gen_.text_bos_id = tokenizer_->token_to_id("<|begin_of_text|>");
    gen_.text_eos_id = tokenizer_->token_to_id("<|end_of_text|>");
  }
  // The text ids of row `b` (column 8).
  std::vector<std::int32_t> text_ids(const Prompt& p, std::int64_t b = 0) const {
    std::vector<std::int32_t> ids;
    const std::int32_t* t = p.tokens.data<std::int32_t>();
    for (std::int64_t i = 0; i < p.length(); ++i)
      ids.push_back(t[(b * p.length() + i) * kPromptColumns + kTextColumn]);
    return ids;
  }
  std::unique_ptr<Tokenizer> tokenizer_;
  GenConfig gen_;
};

TEST_F(PromptRules, LayoutIsTagsSlotLyricsWithBosAndEos) {
  const Prompt p = build_prompt(*tokenizer_, gen_, "Rock", "Hey", 1.0f);
  const std::vector<std::int32_t> tags = tokenizer_->encode("<tag>rock</tag>", false);
  const std::vector<std::int32_t> lyrics = tokenizer_->encode("hey", false);
  std::vector<std::int32_t> expected{gen_.text_bos_id};
  expected.insert(expected.end(), tags.begin(), tags.end());
  expected.push_back(gen_.text_eos_id);
  const auto slot = static_cast<std::int64_t>(expected.size());
  expected.push_back(0);
  expected.push_back(gen_.text_bos_id);
  expected.insert(expected.end(), lyrics.begin(), lyrics.end());
  expected.push_back(gen_.text_eos_id);
  EXPECT_EQ(text_ids(p), expected);
  EXPECT_EQ(p.muq_index, slot);
  EXPECT_EQ(p.batch(), 1);
}

TEST_F(PromptRules, WrappedTagsAreNotWrappedTwiceAndCfgDuplicatesRows) {
  const Prompt wrapped = build_prompt(*tokenizer_, gen_, "<TAG>Jazz</TAG>", "", 3.0f);
  const Prompt bare = build_prompt(*tokenizer_, gen_, "jazz", "", 3.0f);
  EXPECT_EQ(text_ids(wrapped), text_ids(bare));
  ASSERT_EQ(wrapped.batch(), 2);
  EXPECT_EQ(text_ids(wrapped, 0), text_ids(wrapped, 1));
  // Empty lyrics still get their BOS and EOS.
  const std::vector<std::int32_t> ids = text_ids(bare);
  EXPECT_EQ(ids[ids.size() - 2], gen_.text_bos_id);
  EXPECT_EQ(ids.back(), gen_.text_eos_id);
}

TEST_F(PromptRules, LyricsAreLowerCasedBeyondAscii) {
  const Prompt upper = build_prompt(*tokenizer_, gen_, "x", "ÉCOLE ΟΔΟΣ ПРИВЕТ Ä", 1.0f);
  const Prompt lower = build_prompt(*tokenizer_, gen_, "x", "école οδος привет ä", 1.0f);
  EXPECT_EQ(text_ids(upper), text_ids(lower));
}

TEST_F(PromptRules, OversizedInputsThrow) {
  EXPECT_THROW(build_prompt(*tokenizer_, gen_, std::string(kMaxTagsBytes + 1, 'a'), "", 1.0f),
               InvalidArgument);
  EXPECT_THROW(build_prompt(*tokenizer_, gen_, "", std::string(kMaxLyricsBytes + 1, 'a'), 1.0f),
               InvalidArgument);
  EXPECT_NO_THROW(build_prompt(*tokenizer_, gen_, "", std::string(kMaxLyricsBytes, 'a'), 1.0f));
}

}  // namespace
}  // namespace hs
