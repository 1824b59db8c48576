// The quality report's picture (libpng): the reference's log-mel spectrogram and the worst
// precision's side by side (one dB colour scale for both, time left to right, low bands at the
// bottom), and under them the per-frame KL divergence of every precision as curves (one colour
// each, in the report's order; the y axis runs from 0 to the largest value). No text: the report's
// JSON and table name what is drawn.
#pragma once

#include <filesystem>
#include <vector>

#include "clients/cli/quality/audio_quality.h"

namespace hs::cli {

inline constexpr int kQualityPanelWidth = 480;   // each spectrogram
inline constexpr int kQualityPanelHeight = 240;
inline constexpr int kQualityCurveHeight = 160;  // the KL curves, full width
inline constexpr int kQualityMargin = 8;
inline constexpr int kQualityPngWidth = 2 * kQualityPanelWidth + 3 * kQualityMargin;
inline constexpr int kQualityPngHeight = kQualityPanelHeight + kQualityCurveHeight + 3 * kQualityMargin;

// Writes the PNG to `path`; InvalidArgument naming the path when it cannot be written.
void write_quality_png(const std::filesystem::path& path, const LogMel& reference, const LogMel& worst,
                       const std::vector<std::vector<double>>& frame_kl);

}  // namespace hs::cli
