// The prompt of one request (REFERENCE.md "Prompt"): tags and lyrics → token rows for the LM.
//
// Tags and lyrics are lower-cased like Python's str.lower() (unicode_lower.h; invalid UTF-8 is
// first replaced by U+FFFD), tags wrapped as "<tag>…</tag>" unless they already start/end so
// (no whitespace is stripped), each tokenized with the post-processor (BOS) and given a BOS /
// EOS if it lacks one. Layout [tags…, slot, lyrics…] with the slot (token 0) for the MuQ
// embedding. Tags over kMaxTagsBytes or lyrics over kMaxLyricsBytes throw InvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/core/tensor.h"
#include "engine/io/config.h"
#include "engine/text/tokenizer.h"

namespace hs {

// Input caps, in bytes of UTF-8 (a long song's lyrics are a few KiB).
inline constexpr std::size_t kMaxTagsBytes = 4 * 1024;
inline constexpr std::size_t kMaxLyricsBytes = 64 * 1024;
// Columns of a prompt row: 8 audio codebooks, then the text token.
inline constexpr std::int64_t kPromptColumns = 9;
inline constexpr std::int64_t kTextColumn = 8;

struct Prompt {
  Tensor tokens;           // I32 [B, P, 9]: column 8 = text ids, columns 0..7 zero
  Tensor mask;             // U8  [B, P, 9]: column 8 set on every row
  std::int64_t muq_index;  // the reference-audio slot position (same in every row)
  // B = 2 (row 0 conditional, row 1 its unconditional twin) when cfg_scale != 1, else 1.
  std::int64_t batch() const { return tokens.dim(0); }
  std::int64_t length() const { return tokens.dim(1); }
};

Prompt build_prompt(const Tokenizer& tokenizer, const GenConfig& gen, std::string_view tags,
                    std::string_view lyrics, float cfg_scale);

}  // namespace hs
