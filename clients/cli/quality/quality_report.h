// What `heartstream quality` measured, as quality_report.json and as the table it prints.
// Units are in the key names: *_nats (KL divergence, natural log), *_db (decibels); logit_error
// and relative_l2 are ratios (‖test − reference‖ / ‖reference‖), agreements fractions of frames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "clients/cli/quality/audio_quality.h"
#include "engine/core/backend.h"
#include "engine/pipeline/generator.h"
#include "engine/pipeline/logit_metrics.h"

namespace hs::cli {

struct QualityRequest {
  std::string tags, lyrics;
  std::int64_t max_audio_length_ms = 0;
  SamplingParams sampling;  // temperature, topk, cfg_scale
  std::uint64_t seed = 0;
};

struct LmQuality {
  Precision precision = Precision::F32;
  LogitReport logits;
};

struct LayerQuality {
  std::string group;  // linear_groups.h linear_group()
  CodebookLogitStats stats;
};

struct AudioQuality {
  std::string label;  // a precision's name, or a chunk length
  AudioDistance distance;
};

struct QualityReport {
  std::string model_path, version, device;
  Precision reference = Precision::F32;
  KvCache kv_cache = KvCache::Auto;  // the measured precisions' LM KV cache (the reference's: auto)
  QualityRequest request;
  std::int64_t frames = 0;
  StopReason stop_reason = StopReason::Length;
  std::vector<LmQuality> lm;
  // Per linear group at layer_precision over the first layer_frames frames, largest error first.
  std::optional<Precision> layer_precision;
  std::int64_t layer_frames = 0;
  std::vector<LayerQuality> layers;
  std::vector<AudioQuality> codec;      // each precision's offline decode against the reference's
  std::vector<AudioQuality> streaming;  // the streaming decoder by chunk_frames against the offline decode
  std::string image;                    // the PNG's file name
};

boost::json::object to_json(const QualityReport& report);
// The table: one row per LM precision, the costliest layer groups, the codec and streaming rows.
void print_quality_table(std::FILE* out, const QualityReport& report);

}  // namespace hs::cli
