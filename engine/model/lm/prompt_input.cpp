#include "engine/model/lm/prompt_input.h"

#include <cstring>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kColumns = kNumCodebooks + 1;  // audio codebooks + text

// The prompt's text rows: row r is text_table[tokens[r, 8]] (zeros where that column is masked)
// and the column becomes r, so embed_frame reads a [rows, D] table instead of the vocabulary-sized
// one.
Tensor gather_prompt_text(const Tensor& text_table, Tensor& tokens, const Tensor& mask) {
  const std::int64_t rows = tokens.dim(0), vocab = text_table.dim(0);
  const std::size_t row_bytes = static_cast<std::size_t>(text_table.dim(1)) * dtype_size(text_table.dtype());
  Tensor out = Tensor::zeros({rows, text_table.dim(1)}, text_table.dtype());
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int32_t& token = tokens.data<std::int32_t>()[r * kColumns + kNumCodebooks];
    if (mask.data<std::uint8_t>()[r * kColumns + kNumCodebooks]) {
      if (token < 0 || token >= vocab)
        throw InvalidArgument("prompt text token " + std::to_string(token) + " is outside the text vocabulary of " +
                              std::to_string(vocab));
      std::memcpy(static_cast<char*>(out.raw()) + r * row_bytes,
                  static_cast<const char*>(text_table.raw()) + token * row_bytes, row_bytes);
    }
    token = static_cast<std::int32_t>(r);
  }
  return out;
}

}  // namespace

PromptInput::PromptInput(const MulaModel& model, const Prompt& prompt)
    : model_(model), batch_(prompt.batch()), length_(prompt.length()), muq_index_(prompt.muq_index) {
  Backend& backend = model.backend();
  const std::int64_t rows = batch_ * length_;
  Tensor tokens = prompt.tokens.reshape({rows, kColumns}).clone();
  const Tensor mask = prompt.mask.reshape({rows, kColumns});
  text_ = backend.upload_exact(gather_prompt_text(model.weights().text_embeddings, tokens, mask));
  tokens_ = backend.upload(tokens);
  mask_ = backend.upload(mask);
  Tensor uncond = Tensor::zeros({rows}, DType::U8);
  for (std::int64_t r = length_; r < rows; ++r) uncond.data<std::uint8_t>()[r] = 1;  // row 1 is the twin
  uncond_ = backend.upload(uncond);
  const DType act = backend.activation_dtype();
  muq_embedding_ = backend.alloc({1, model.backbone().dim}, act);
  backend.linear(backend.alloc({1, model.config().muq_dim}, act), model.weights().muq_linear, muq_embedding_);
}

void PromptInput::embed(Tensor& hidden) const {
  Backend& backend = model_.backend();
  const MulaWeights& w = model_.weights();
  backend.embed_frame(w.audio_embeddings, text_, w.unconditional_text_embedding, model_.audio_vocab(), tokens_, mask_,
                      uncond_, hidden);
  for (std::int64_t b = 0; b < batch_; ++b) {
    const std::int64_t row = b * length_ + muq_index_;
    Tensor slot = hidden.slice(row, row + 1);
    backend.copy(b == 0 ? muq_embedding_ : w.unconditional_text_embedding, slot);
  }
}

}  // namespace hs
