#include "engine/model/demo/demo_tokenizer.h"

#include <array>
#include <string_view>
#include <utility>

#include <boost/json.hpp>

#include "engine/core/error.h"
#include "engine/text/byte_level.h"

namespace hs {
namespace {

namespace json = boost::json;

constexpr int kByteTokens = 256;
constexpr std::string_view kBos = "<|begin_of_text|>";
constexpr std::string_view kEos = "<|end_of_text|>";
// Llama 3's pre-tokenizer pattern (contractions, words, 1–3 digits, punctuation, whitespace).
constexpr std::string_view kSplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Merges in rank order, as raw text; each side is a byte or the result of an earlier merge.
constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kMerges{{
    {" ", "t"}, {"h", "e"}, {" t", "he"}, {"i", "n"}, {"e", "r"}, {"a", "n"}, {"o", "n"},
    {"r", "e"}, {" ", "a"}, {" ", "s"}, {"o", "u"}, {" ", "l"}, {"a", "y"}, {"e", "n"},
    {"in", "g"}, {" ", "w"}, {"o", "r"}, {" ", "m"}, {"l", "o"}, {"v", "e"},
}};

json::object special_token(std::string_view content, std::int32_t id) {
  return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},   {"normalized", false}, {"special", true}};
}

json::object pre_tokenizer() {
  json::object split{{"type", "Split"},
                     {"pattern", json::object{{"Regex", kSplitRegex}}},
                     {"behavior", "Isolated"},
                     {"invert", false}};
  json::object byte_level{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  return {{"type", "Sequence"}, {"pretokenizers", json::array{std::move(split), std::move(byte_level)}}};
}

json::object post_processor(std::int32_t bos_id) {
  const json::object bos_item{{"SpecialToken", json::object{{"id", kBos}, {"type_id", 0}}}};
  const auto sequence = [](std::string_view id) { return json::object{{"Sequence", json::object{{"id", id}, {"type_id", 0}}}}; };
  json::object specials{{kBos, json::object{{"id", kBos}, {"ids", json::array{bos_id}}, {"tokens", json::array{kBos}}}}};
  return {{"type", "TemplateProcessing"},
          {"single", json::array{bos_item, sequence("A")}},
          {"pair", json::array{bos_item, sequence("A"), bos_item, sequence("B")}},
          {"special_tokens", std::move(specials)}};
}

}  // namespace

DemoTokenizer make_demo_tokenizer(std::optional<std::int32_t> bos_id) {
  json::object vocab;
  std::int32_t next_id = 0;
  for (int b = 0; b < kByteTokens; ++b)
    vocab[byte_level::encode(std::string(1, static_cast<char>(b)))] = next_id++;
  json::array merges;
  for (const auto& [left, right] : kMerges) {
    const std::string l = byte_level::encode(left), r = byte_level::encode(right);
    merges.push_back(json::array{json::string(l), json::string(r)});
    if (!vocab.contains(l + r)) vocab[l + r] = next_id++;
  }
  if (bos_id && *bos_id < next_id)
    throw InvalidArgument("demo tokenizer: BOS id " + std::to_string(*bos_id) + " is taken by a BPE token (ids < " +
                          std::to_string(next_id) + ")");
  DemoTokenizer out;
  out.bos_id = bos_id.value_or(next_id);
  out.eos_id = out.bos_id + 1;
  out.vocab_size = std::int64_t{out.eos_id} + 1;

  json::object model{{"type", "BPE"},          {"dropout", nullptr},     {"unk_token", nullptr},
                     {"continuing_subword_prefix", nullptr},             {"end_of_word_suffix", nullptr},
                     {"fuse_unk", false},      {"byte_fallback", false}, {"ignore_merges", true},
                     {"vocab", std::move(vocab)},                         {"merges", std::move(merges)}};
  json::object root{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array{special_token(kBos, out.bos_id), special_token(kEos, out.eos_id)}},
      {"normalizer", nullptr},
      {"pre_tokenizer", pre_tokenizer()},
      {"post_processor", post_processor(out.bos_id)},
      {"decoder", json::object{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", std::move(model)}};
  out.json = json::serialize(root);
  return out;
}

}  // namespace hs
