// The step input of HeartMuLa: out[r] = Σ_c mask[r,c] · E_c(tokens[r,c]) over the 9 columns, with
// E_c(t) = audio_table[t + c·audio_vocab] for c < 8, text_table[t] for c = 8 (uncond_text when
// uncond[r] != 0). The tables may be narrower than out (bf16 tables, fp32 out). Sums in fp32. Ids outside their table contribute nothing (the host cannot
// check device ids without a sync; the CPU backend rejects them).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

inline constexpr int kEmbedAudioColumns = 8;
inline constexpr int kEmbedColumns = kEmbedAudioColumns + 1;

struct EmbedFrameParams {
  const void* audio_table;   // [audio_vocab · 8, dim], table_type
  const void* text_table;    // [text_rows, dim], table_type
  const void* uncond_text;   // [1, dim], type
  const std::int32_t* tokens;  // [rows, 9]
  const std::uint8_t* mask;    // [rows, 9]
  const std::uint8_t* uncond;  // [rows]
  void* out;                 // [rows, dim]
  std::int64_t rows, dim, audio_vocab, text_rows;
  ElementType table_type;
  ElementType type;          // of out and uncond_text
};

void embed_frame(const EmbedFrameParams& p, cudaStream_t stream);

}  // namespace hs::kernels
