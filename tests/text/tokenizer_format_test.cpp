// tokenizer.json features on small synthetic files: both merge spellings, merge ranks,
// ignore_merges, added tokens, templates, and a FormatError naming the file and the feature for
// everything unsupported.
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/text/byte_level.h"
#include "engine/text/tokenizer.h"

namespace hs {
namespace {

namespace json = boost::json;

constexpr std::int32_t kByteTokens = 256;  // ids 0..255: the byte symbols, id = byte value
constexpr std::int32_t kBos = 300;
constexpr std::int32_t kEos = 301;

std::string sym(std::string_view bytes) { return byte_level::encode(bytes); }

// A minimal valid Llama-3-shaped tokenizer.json: 256 byte symbols, "ab"=256, "abc"=257,
// "bc"=258, "xyz"=259; merges "a b" (string form) and ["ab","c"] (pair form).
json::object base_document() {
  json::object vocab;
  for (int b = 0; b < kByteTokens; ++b) vocab[sym(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab["bc"] = 258;
  vocab["xyz"] = 259;
  json::array merges{"a b", json::array{"ab", "c"}};
  json::object model{{"type", "BPE"},          {"dropout", nullptr},     {"unk_token", nullptr},
                     {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab},
                     {"merges", merges}};
  json::object split{{"type", "Split"},
                     {"pattern", json::object{{"Regex", R"(\p{L}+|\s+|[^\s\p{L}]+)"}}},
                     {"behavior", "Isolated"},
                     {"invert", false}};
  json::object byte_level{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  json::array added{json::object{{"id", kBos},
                                 {"content", "<s>"},
                                 {"special", true},
                                 {"normalized", false},
                                 {"single_word", false},
                                 {"lstrip", false},
                                 {"rstrip", false}},
                    json::object{{"id", kEos},
                                 {"content", "</s>"},
                                 {"special", true},
                                 {"normalized", false},
                                 {"single_word", false},
                                 {"lstrip", false},
                                 {"rstrip", false}}};
  json::object tmpl{
      {"type", "TemplateProcessing"},
      {"single",
       json::array{json::object{{"SpecialToken", json::object{{"id", "<s>"}, {"type_id", 0}}}},
                   json::object{{"Sequence", json::object{{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens",
       json::object{{"<s>", json::object{{"id", "<s>"}, {"ids", json::array{kBos}}}},
                    {"</s>", json::object{{"id", "</s>"}, {"ids", json::array{kEos}}}}}}};
  return json::object{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       json::object{{"type", "Sequence"}, {"pretokenizers", json::array{split, byte_level}}}},
      {"post_processor", tmpl},
      {"decoder", json::object{{"type", "ByteLevel"}}},
      {"model", model}};
}

class TokenizerFormat : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("hs_tokenizer_" + std::to_string(::getpid()) + "_" + info->name() + ".json");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  Tokenizer load(const json::object& doc) {
    std::ofstream(path_) << json::serialize(doc);
    return Tokenizer::load(path_);
  }
  // Loading `doc` fails with a FormatError whose message names the file and `feature`.
  void expect_rejected(const json::object& doc, const std::string& feature) {
    try {
      load(doc);
      ADD_FAILURE() << "accepted a file using " << feature;
    } catch (const FormatError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path_.string()), std::string::npos) << what;
      EXPECT_NE(what.find(feature), std::string::npos) << what;
    }
  }
  std::filesystem::path path_;
};

json::object& model_of(json::object& doc) { return doc["model"].as_object(); }

TEST_F(TokenizerFormat, BothMergeSpellingsApplyInRankOrder) {
  const Tokenizer t = load(base_document());
  EXPECT_EQ(t.encode("abc", false), (std::vector<std::int32_t>{257}));
  EXPECT_EQ(t.encode("abd", false), (std::vector<std::int32_t>{256, 'd'}));
  EXPECT_EQ(t.vocab_size(), 302u);

  json::object doc = base_document();  // "b c" outranks "a b": abc → a + bc
  model_of(doc)["merges"] = json::array{"b c", "a b", json::array{"ab", "c"}};
  EXPECT_EQ(load(doc).encode("abc", false), (std::vector<std::int32_t>{'a', 258}));
}

TEST_F(TokenizerFormat, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  json::object doc = base_document();
  EXPECT_EQ(load(doc).encode("xyz", false), (std::vector<std::int32_t>{'x', 'y', 'z'}));
  model_of(doc)["ignore_merges"] = true;
  EXPECT_EQ(load(doc).encode("xyz", false), (std::vector<std::int32_t>{259}));
}

TEST_F(TokenizerFormat, AddedTokensMatchLongestFirstBeforePreTokenization) {
  json::object doc = base_document();
  doc["added_tokens"].as_array().push_back(
      json::object{{"id", 302}, {"content", "</s>x"}, {"special", false}, {"normalized", true}});
  const Tokenizer t = load(doc);
  EXPECT_EQ(t.encode("a</s>b", false), (std::vector<std::int32_t>{'a', kEos, 'b'}));
  EXPECT_EQ(t.encode("a</s>xb", false), (std::vector<std::int32_t>{'a', kEos, 'x', 'b'}))
      << "normalized tokens only see text the raw-matched tokens left";
  EXPECT_EQ(t.encode("</s", false), (std::vector<std::int32_t>{'<', '/', 's'}));
  EXPECT_EQ(t.decode({kBos, 'a', kEos}, /*skip_special=*/true), "a");
  EXPECT_EQ(t.token_to_id("</s>x"), 302);
}

TEST_F(TokenizerFormat, TemplateInsideSequenceWithByteLevel) {
  json::object doc = base_document();
  json::object tmpl = doc["post_processor"].as_object();
  tmpl["single"].as_array().push_back(
      json::object{{"SpecialToken", json::object{{"id", "</s>"}, {"type_id", 0}}}});
  doc["post_processor"] = json::object{
      {"type", "Sequence"}, {"processors", json::array{json::object{{"type", "ByteLevel"}}, tmpl}}};
  EXPECT_EQ(load(doc).encode("ab"), (std::vector<std::int32_t>{kBos, 256, kEos}));
  doc["post_processor"] = nullptr;
  EXPECT_EQ(load(doc).encode("ab"), (std::vector<std::int32_t>{256}));
}

TEST_F(TokenizerFormat, UnsupportedFeaturesAreNamed) {
  const std::vector<std::pair<std::string, std::function<void(json::object&)>>> edits = {
      {"normalizer",
       [](json::object& d) {
         d["normalizer"] = json::object{{"type", "NFC"}};
       }},
      {"truncation",
       [](json::object& d) {
         d["truncation"] = json::object{{"max_length", 8}};
       }},
      {"WordPiece", [](json::object& d) { model_of(d)["type"] = "WordPiece"; }},
      {"byte_fallback", [](json::object& d) { model_of(d)["byte_fallback"] = true; }},
      {"dropout", [](json::object& d) { model_of(d)["dropout"] = 0.1; }},
      {"continuing_subword_prefix",
       [](json::object& d) { model_of(d)["continuing_subword_prefix"] = "##"; }},
      {"lstrip",
       [](json::object& d) { d["added_tokens"].as_array()[0].as_object()["lstrip"] = true; }},
      {"single_word",
       [](json::object& d) { d["added_tokens"].as_array()[1].as_object()["single_word"] = true; }},
      {"Removed",
       [](json::object& d) {
         d["pre_tokenizer"].as_object()["pretokenizers"].as_array()[0].as_object()["behavior"] =
             "Removed";
       }},
      {"add_prefix_space",
       [](json::object& d) {
         d["pre_tokenizer"]
             .as_object()["pretokenizers"]
             .as_array()[1]
             .as_object()["add_prefix_space"] = true;
       }},
      {"Whitespace",
       [](json::object& d) {
         d["pre_tokenizer"] = json::object{{"type", "Whitespace"}};
       }},
      {"decoder", [](json::object& d) { d["decoder"] = nullptr; }},
      {"WordPiece",
       [](json::object& d) {
         d["decoder"] = json::object{{"type", "WordPiece"}};
       }},
      {"RobertaProcessing",
       [](json::object& d) {
         d["post_processor"] = json::object{{"type", "RobertaProcessing"}};
       }},
      {"not in model.vocab",
       [](json::object& d) { model_of(d)["merges"].as_array().push_back("q zz"); }},
      {"one space", [](json::object& d) { model_of(d)["merges"].as_array().push_back("abc"); }},
      {"byte 65", [](json::object& d) { model_of(d)["vocab"].as_object().erase("A"); }},
      {"id out of range",  // ids index the token tables: a huge one would allocate gigabytes
       [](json::object& d) { d["added_tokens"].as_array()[0].as_object()["id"] = 3'000'000; }},
      {"does not compile",
       [](json::object& d) {
         d["pre_tokenizer"].as_object()["pretokenizers"].as_array()[0].as_object()["pattern"] =
             json::object{{"Regex", "(unclosed"}};
       }},
  };
  for (const auto& [feature, edit] : edits) {
    json::object doc = base_document();
    edit(doc);
    SCOPED_TRACE(feature);
    expect_rejected(doc, feature);
  }
}

TEST_F(TokenizerFormat, UnreadableFilesAreFormatErrors) {
  EXPECT_THROW(Tokenizer::load(path_.string() + ".absent"), FormatError);
  std::ofstream(path_) << "{\"model\": ";
  EXPECT_THROW(Tokenizer::load(path_), FormatError);
}

}  // namespace
}  // namespace hs
