// The prompt of one request (REFERENCE.md "Prompt"): tags and lyrics → token rows for the LM.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/core/tensor.h"
#include "engine/io/config.h"
#include "engine/text/tokenizer.h"

namespace hs {

struct Prompt {
  Tensor tokens;            // I32 [B, P, 9]: column 8 = text ids, columns 0..7 zero
  Tensor mask;              // U8  [B, P, 9]: column 8 set on every row
  std::int64_t muq_index;   // the reference-audio slot position (same in every row)
  // B = 2 (row 0 conditional, row 1 its unconditional twin) when cfg_scale != 1, else 1.
  std::int64_t batch() const { return tokens.dim(0); }
  std::int64_t length() const { return tokens.dim(1); }
};

Prompt build_prompt(const Tokenizer& tokenizer, const GenConfig& gen, std::string_view tags,
                    std::string_view lyrics, float cfg_scale);

}  // namespace hs
