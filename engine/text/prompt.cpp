#include "engine/text/prompt.h"

#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/text/unicode_lower.h"
#include "engine/text/utf8.h"

namespace hs {
namespace {

constexpr std::string_view kTagOpen = "<tag>";
constexpr std::string_view kTagClose = "</tag>";
constexpr std::int32_t kSlotToken = 0;

void check_size(std::string_view text, std::size_t cap, std::string_view what) {
  if (text.size() > cap)
    throw InvalidArgument(std::string(what) + " of " + std::to_string(text.size()) +
                          " bytes exceed the cap of " + std::to_string(cap) + " bytes");
}

// Tokenizes with BOS and makes sure the ids start with BOS and end with EOS.
std::vector<std::int32_t> tokenize_part(const Tokenizer& tokenizer, const GenConfig& gen,
                                        std::string_view text) {
  std::vector<std::int32_t> ids = tokenizer.encode(text, /*add_special=*/true);
  if (ids.empty() || ids.front() != gen.text_bos_id) ids.insert(ids.begin(), gen.text_bos_id);
  if (ids.back() != gen.text_eos_id) ids.push_back(gen.text_eos_id);
  return ids;
}

}  // namespace

Prompt build_prompt(const Tokenizer& tokenizer, const GenConfig& gen, std::string_view tags,
                    std::string_view lyrics, float cfg_scale) {
  check_size(tags, kMaxTagsBytes, "tags");
  check_size(lyrics, kMaxLyricsBytes, "lyrics");
  std::string tag_text = unicode_lower(utf8::sanitize(tags));
  if (!tag_text.starts_with(kTagOpen)) tag_text.insert(0, kTagOpen);
  if (!tag_text.ends_with(kTagClose)) tag_text += kTagClose;
  const std::vector<std::int32_t> tag_ids = tokenize_part(tokenizer, gen, tag_text);
  const std::vector<std::int32_t> lyric_ids =
      tokenize_part(tokenizer, gen, unicode_lower(utf8::sanitize(lyrics)));

  std::vector<std::int32_t> text_ids = tag_ids;
  text_ids.push_back(kSlotToken);
  text_ids.insert(text_ids.end(), lyric_ids.begin(), lyric_ids.end());

  const std::int64_t batch = cfg_scale != 1.0f ? 2 : 1;
  const auto length = static_cast<std::int64_t>(text_ids.size());
  Prompt prompt{Tensor::zeros({batch, length, kPromptColumns}, DType::I32),
                Tensor::zeros({batch, length, kPromptColumns}, DType::U8),
                static_cast<std::int64_t>(tag_ids.size())};
  std::int32_t* tokens = prompt.tokens.data<std::int32_t>();
  std::uint8_t* mask = prompt.mask.data<std::uint8_t>();
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t p = 0; p < length; ++p) {
      const std::int64_t cell = (b * length + p) * kPromptColumns + kTextColumn;
      tokens[cell] = text_ids[p];
      mask[cell] = 1;
    }
  }
  return prompt;
}

}  // namespace hs
