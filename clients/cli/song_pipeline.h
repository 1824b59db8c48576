// What `heartstream generate` and `heartstream benchmark` share: loading a checkpoint's models
// onto their backends, and running one request from prompt to audio file with progress on stderr.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "clients/cli/generate_progress.h"
#include "clients/cli/song_output.h"
#include "engine/backends/backend_factory.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/lm/mula_model.h"
#include "engine/pipeline/generator.h"
#include "engine/text/tokenizer.h"

namespace hs::cli {

// The argument itself, or the contents of the file it names (read up to `max_bytes`, the prompt
// builder's limit). One line holding a '/' or ending in .txt is taken for a path and must name a
// file: a mistyped path must not become the song's text.
std::string text_or_file(const std::string& option, const std::string& arg, std::size_t max_bytes);

// One checkpoint loaded for songs: both backends, the LM, and the codec when audio is wanted.
struct SongModels {
  ModelBackends backends;
  CheckpointPaths paths;
  GenConfig gen;
  Tokenizer tokenizer;
  std::shared_ptr<const MulaModel> lm;
  std::optional<CodecModel> codec;  // absent for token-only runs
  MulaLoadReport lm_load;
  CodecLoadReport codec_load;
};

// Creates the backends of `choice` (errors name the options as `names` says), prints where each
// model runs, and loads the checkpoint `model_path` / `version` (the codec only when `need_codec`).
std::unique_ptr<SongModels> load_song_models(const BackendChoice& choice, const BackendOptionNames& names,
                                             const std::string& model_path, const std::string& version,
                                             bool need_codec);

// One request: the text and the reference CLI's knobs.
struct SongRequest {
  std::string tags;
  std::string lyrics;
  std::int64_t max_audio_length_ms = 240000;
  SamplingParams sampling;
  std::uint64_t seed = 0;
  KvCache kv_cache = KvCache::Auto;  // the LM's KV cache
};

// What one song took.
struct SongRun {
  StopReason reason = StopReason::Length;
  std::int64_t prompt_rows = 0;          // the prompt's length in tokens (rows of the LM's input)
  std::int64_t frames = 0;
  double audio_s = 0;                    // audio written (frames × 80 ms when there is no audio file)
  double wall_s = 0;                     // from the request to the closed file
  std::optional<double> first_audio_s;   // from the request to the first audio in the file
};

// Builds the prompt and runs it through a Generator into `output_options`' files, progress on
// stderr (a bar on a terminal). The clock starts with the request: the prompt, the session's setup
// and the codec's graph captures count. Keeps to the codec's codebook when the codec is loaded or
// its config is there (for a later decode).
SongRun run_song(const SongModels& models, const SongRequest& request, const SongOutputOptions& output_options);

}  // namespace hs::cli
