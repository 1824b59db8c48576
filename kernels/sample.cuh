// Device sampling of one token (REFERENCE.md "Sampling"), identical to the CPU backend's draw:
// CFG combine uncond + (cond − uncond)·cfg_scale (rows = 2), temperature, top-k threshold (the
// k-th largest value, found by radix select), then argmax over kept i of
// (l_i − max)/T − log E_i with E_i = Exp(1) Philox variate (seed, counter, i); greedy when
// temperature ≤ 0. The counter in rng advances by one per call, on the device.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_type.h"

namespace hs::kernels {

inline constexpr std::int64_t kSampleMaxVocab = 11264;  // the combined row lives in shared memory

struct SampleParams {
  const void* logits;     // [rows, vocab]; rows 1, or 2 = (cond, uncond)
  void* guided;           // [vocab] combined logits before temperature, or null
  std::int64_t* rng;      // [2] = {seed, counter}, device
  std::int32_t* token;    // [1], device
  std::int64_t rows, vocab;
  float cfg_scale, temperature;
  int topk;
  ElementType type;       // of logits and guided
  int blocked_begin = 0, blocked_end = 0;  // ids never drawn: their combined logits count as −∞
  // Many songs (one block each, `songs` of them): song s reads its parameters from these device
  // arrays instead of the fields above (logits is then [R, vocab], rng [songs, 2], token
  // [songs]), skips itself when first_row[s] < 0, and also writes its token to row_tokens at its
  // rows. Null: one song.
  struct Songs {
    const std::int32_t* first_row;
    const std::uint8_t* cfg;
    const float *temperature, *cfg_scale;
    const std::int32_t *topk, *blocked;  // blocked [songs, 2]
    std::int32_t* row_tokens;
    std::int64_t count;
  };
  const Songs* songs_on_host = nullptr;  // read by sample(); the kernel gets a copy
};

void sample(const SampleParams& p, cudaStream_t stream);

}  // namespace hs::kernels
