// The VRAM budget planner (--vram_budget_gb, model.vram_budget_gb): before anything is loaded,
// picks the LM precision, the codec's precision and device, and the KV cache dtype that fit a
// device-memory budget, and says how long a song and how many songs at once then fit. Device bytes
// are estimated from the checkpoint's configs (every tensor the engine loads, at the precision it
// loads it in), the backends' fixed buffers, each song's KV cache (exact) and working buffers; the
// CUDA backends then hold to the budget (DeviceMemoryBudget), so an estimate that falls short is an
// OutOfMemory error, never more memory. docs/vram.md lists the plans for the guide's 6, 8 and 12 GB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/backend.h"
#include "engine/io/config.h"
#include "engine/model/lm/transformer.h"

namespace hs {

// What a plan must hold, and what the user fixed (absent: the planner chooses). A fixed precision
// also fixes the codec's on the GPU when codec_precision is absent, as BackendChoice does without a
// plan (the LM's, fp8 for a 4-bit LM); fp32 and 4-bit language models are planned only when asked for.
struct VramRequest {
  std::size_t budget_bytes = 0;
  std::int64_t song_ms = 240000;     // the longest song each session may play
  std::int64_t songs = 1;            // songs at once (the daemon's max_sessions)
  std::int64_t prompt_tokens = 512;  // prompt length each song's KV cache and prefill are sized for
  bool cfg = true;                   // classifier-free guidance doubles a song's rows
  std::int64_t chunk_frames = 16;    // the streaming codec's chunk (its buffers grow with it)
  // The daemon's streaming.codec_batch: songs' chunks decoded together in calls of up to this many
  // songs (CodecBatch: flow-matching buffers kept for every call size, one scalar-decoder set for
  // the largest); 0: each song decodes alone.
  std::int64_t codec_batch = 0;
  bool fp8_widened = false;          // the GPU takes the portable path (CudaBackend::fp8_tensor_cores)
  bool fewer_songs = false;          // `songs` do not fit: plan as many as do (at least one)
  std::optional<Precision> precision = std::nullopt;
  std::optional<Precision> codec_precision = std::nullopt;
  std::optional<Device> codec_device = std::nullopt;
  std::optional<KvCache> kv_cache = std::nullopt;
};

// Device bytes of one model configuration (the estimate behind a plan).
struct VramNeeds {
  std::size_t lm_weights = 0, codec_weights = 0;
  std::size_t fixed = 0;     // the backends' scratch, cuBLASLt workspaces, portable-path buffer
  std::size_t per_song = 0;  // one song of request.song_ms: KV cache, LM and codec working buffers
  std::size_t song_kv = 0;   // of per_song: the KV cache (prompt and frames)
  std::size_t kv_per_frame = 0;
  // With request.codec_batch, per song of a call: the codec's buffers kept for every call size (the
  // flow solve's), and the scalar decoder's, which every call size shares.
  std::size_t codec_flow_song = 0, codec_decoder_song = 0;
  std::int64_t codec_batch = 0;
  // The codec calls' buffers while `songs` songs run: the flow solve's of every call size up to
  // theirs, the scalar decoder's of the largest.
  std::size_t codec_calls(std::int64_t songs) const;
  std::size_t total(std::int64_t songs) const {
    return lm_weights + codec_weights + fixed + per_song * static_cast<std::size_t>(songs) + codec_calls(songs);
  }
  // total() less the songs' KV caches: what a KV pool beside `songs` songs must leave.
  std::size_t besides_kv(std::int64_t songs) const { return total(songs) - song_kv * static_cast<std::size_t>(songs); }
};

struct VramPlan {
  Precision precision = Precision::FP8;
  Precision codec_precision = Precision::FP8;
  Device codec_device = Device::Cuda;
  KvCache kv_cache = KvCache::Auto;
  VramNeeds needs;
  std::size_t budget_bytes = 0;
  std::int64_t song_ms = 0, songs = 0;       // as requested (songs: fewer with request.fewer_songs)
  std::int64_t longest_song_ms = 0;          // one song alone, the rest of the budget as its KV cache
                                             // (at most the backbone's positions)
  std::int64_t most_songs = 0;               // songs of song_ms that fit at once
  std::size_t total() const { return needs.total(songs); }
};

// Device bytes of a configuration for `request` (its song_ms and prompt_tokens).
VramNeeds vram_needs(const MulaConfig& mula, const CodecConfig& codec, const VramRequest& request, Precision precision,
                     Precision codec_precision, Device codec_device, KvCache kv_cache);

// The first configuration, from the most precise (bf16 LM and codec on the GPU, bf16 KV cache) to
// the smallest (fp8 LM, fp8 KV cache, codec on the CPU), that holds request.songs songs of
// request.song_ms within the budget, among those that keep the user's fixed choices. Larger budgets
// never choose a less precise configuration. Nothing fits: with request.fewer_songs the plan for
// one song, holding as many songs as fit in plan.songs; else (or when not one song fits)
// OutOfMemory naming the smallest budget that would. With request.fewer_songs and the codec's
// device not given, fewer songs with the codec on the GPU come before the codec on the CPU.
VramPlan plan_vram(const MulaConfig& mula, const CodecConfig& codec, const VramRequest& request);

// The plan as one readable block (a title line and indented lines).
std::string describe(const VramPlan& plan);

// "6" → 6e9 bytes; a positive number of GB (10^9 bytes), else InvalidArgument naming `option`.
std::size_t parse_vram_budget_gb(double gb, std::string_view option);

}  // namespace hs
