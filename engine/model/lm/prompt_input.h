// A prompt on the device, ready to become the backbone's input (REFERENCE.md "Prompt"): its
// tokens and mask [B·P, 9], the text column pointing into the prompt's own text rows (the
// vocabulary-sized text table stays on the host, MulaWeights::text_embeddings), which rows are
// unconditional, and the reference-audio (MuQ) slot.
#pragma once

#include "engine/model/lm/mula_model.h"
#include "engine/text/prompt.h"

namespace hs {

class PromptInput {
 public:
  // Uploads the prompt; InvalidArgument for a text id outside the vocabulary.
  PromptInput(const MulaModel& model, const Prompt& prompt);

  // hidden [B·P, D] = the prompt's embeddings, the MuQ slot of each row filled.
  void embed(Tensor& hidden) const;

  std::int64_t batch() const { return batch_; }
  std::int64_t length() const { return length_; }

 private:
  const MulaModel& model_;
  std::int64_t batch_, length_, muq_index_;
  Tensor tokens_, mask_;  // [B·P, 9] (text column: row of text_)
  Tensor text_;           // [B·P, D]: the prompt's text embeddings (the narrow dtype)
  Tensor uncond_;         // U8 [B·P]: 1 on the unconditional rows
  Tensor muq_embedding_;  // [1, D] = muq_linear(0)
};

}  // namespace hs
