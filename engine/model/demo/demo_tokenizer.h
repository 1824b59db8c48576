// A small byte-level BPE tokenizer for the demo checkpoint, in the HuggingFace tokenizer.json
// format Tokenizer::load reads (the Llama-3 layout at toy size): the 256 byte tokens, a few merges
// of common English pairs, the Llama-3 Split regex + ByteLevel pre-tokenizer, the special tokens
// <|begin_of_text|> / <|end_of_text|> and a TemplateProcessing post-processor adding the BOS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hs {

struct DemoTokenizer {
  std::string json;          // the tokenizer.json document
  std::int32_t bos_id = 0;   // <|begin_of_text|>
  std::int32_t eos_id = 0;   // <|end_of_text|>
  std::int64_t vocab_size = 0;  // one past the largest id, special tokens included
};

// The special tokens take `bos_id` and the id after it; by default they follow the BPE tokens. At
// Llama 3's ids (128000, 128001) the ids between are unused and the released gen_config.json fits.
// InvalidArgument for a `bos_id` that would collide with a BPE token.
DemoTokenizer make_demo_tokenizer(std::optional<std::int32_t> bos_id = std::nullopt);

}  // namespace hs
