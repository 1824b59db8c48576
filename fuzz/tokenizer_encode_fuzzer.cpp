// Tokenizer::encode (engine/text/tokenizer.h) on a small Llama-3-shaped tokenizer (its split
// regex, all 256 byte symbols, a few merges, BOS/EOS as added tokens): the input is the text.
// Encoding never fails below kMaxInputBytes, every id is in the vocabulary, the post-processor only
// prepends BOS, and decoding gives back the text with invalid UTF-8 replaced by U+FFFD.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "engine/text/byte_level.h"
#include "engine/text/tokenizer.h"
#include "engine/text/utf8.h"
#include "fuzz/check.h"
#include "fuzz/temp_file.h"

namespace {

namespace json = boost::json;

constexpr std::int32_t kByteTokens = 256;  // ids 0..255: the byte symbols
constexpr std::int32_t kBos = 300;
constexpr std::int32_t kEos = 301;
constexpr std::string_view kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json::object added_token(std::int32_t id, std::string_view content) {
  return {{"id", id},          {"content", content}, {"special", true}, {"normalized", false},
          {"single_word", false}, {"lstrip", false},    {"rstrip", false}};
}

std::string tokenizer_json() {
  json::object vocab;
  for (int b = 0; b < kByteTokens; ++b) vocab[hs::byte_level::encode(std::string(1, static_cast<char>(b)))] = b;
  // Merges over byte symbols: "Ġ" is the space, "Ã" and "©" the two bytes of "é".
  const char* merges[] = {"Ġ t", "h e", "Ġt he", "l a", "Ġ la", "i n", "Ã ©", "c a", "ca f", "caf Ã©"};
  json::array merge_list;
  std::int32_t next = kByteTokens;
  for (const char* merge : merges) {
    std::string merged(merge);
    merged.erase(merged.find(' '), 1);
    vocab[merged] = next++;
    merge_list.emplace_back(merge);
  }
  const json::object split{{"type", "Split"},
                           {"pattern", {{"Regex", kLlama3Split}}},
                           {"behavior", "Isolated"},
                           {"invert", false}};
  const json::object byte_level{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  const json::object post{
      {"type", "TemplateProcessing"},
      {"single", json::array{json::object{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                             json::object{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens", {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", json::array{kBos}}}}}}};
  return json::serialize(json::object{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array{added_token(kBos, "<|begin_of_text|>"), added_token(kEos, "<|end_of_text|>")}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array{split, byte_level}}}},
      {"post_processor", post},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
        {"ignore_merges", true}, {"vocab", vocab}, {"merges", merge_list}}}});
}

const hs::Tokenizer& tokenizer() {
  static const hs::Tokenizer t = [] {
    const auto path = hs::fuzz::scratch_dir() / "tokenizer.json";
    hs::fuzz::write_file(path, tokenizer_json());
    return hs::Tokenizer::load(path);
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.size() > hs::kMaxInputBytes) return 0;
  const hs::Tokenizer& tok = tokenizer();
  const std::vector<std::int32_t> ids = tok.encode(text, /*add_special=*/false);
  for (const std::int32_t id : ids)
    FUZZ_CHECK(id >= 0 && static_cast<std::size_t>(id) < tok.vocab_size(), "an id outside the vocabulary");
  FUZZ_CHECK(tok.decode(ids) == hs::utf8::sanitize(text), "decode(encode(text)) is not the text");

  std::vector<std::int32_t> with_bos = tok.encode(text, /*add_special=*/true);
  FUZZ_CHECK(!with_bos.empty() && with_bos.front() == kBos, "the post-processor did not prepend BOS");
  with_bos.erase(with_bos.begin());
  FUZZ_CHECK(with_bos == ids, "the post-processor changed more than the BOS");
  return 0;
}
