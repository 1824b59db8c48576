// The codec's half of `heartstream quality`: the same code frames decoded offline (the reference's
// window schedule) at each precision against the reference precision's audio, and with the
// streaming decoder by chunk length against the offline windows. Every decode draws its flow
// noise from the song's seed (codec_noise_seed), as `generate --seed` and `decode --seed` do.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "clients/cli/quality/quality_report.h"
#include "engine/core/backend.h"

namespace hs::cli {

struct CodecQualityRun {
  std::vector<AudioQuality> codec;      // one per precision, in the order asked
  std::vector<AudioQuality> streaming;  // one per chunk length
  LogMel reference_mel;                 // the reference precision's offline audio
  LogMel worst_mel;                     // the precision with the largest log-mel distance (the reference's without one)
};

// A codec backend for `precision` (the command's device).
using CodecBackendFactory = std::function<std::unique_ptr<Backend>(Precision)>;

// `frames` host I32 [Q, T]. The HeartCodec folder is loaded once per precision, without the fp8
// weight cache.
CodecQualityRun measure_codec(const CodecBackendFactory& make_backend, const std::filesystem::path& codec_dir,
                              Precision reference, const std::vector<Precision>& precisions, const Tensor& codes,
                              std::uint64_t seed, const std::vector<std::int64_t>& chunk_frames);

}  // namespace hs::cli
