#include "clients/cli/quality/quality_png.h"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "engine/core/error.h"

namespace hs::cli {
namespace {

using Rgb = std::array<std::uint8_t, 3>;

constexpr Rgb kBackground{255, 255, 255};
constexpr Rgb kAxis{160, 160, 160};
constexpr double kSpectrumRangeDb = 80;  // the colour scale spans the loudest 80 dB
// Dark blue → purple → orange → pale yellow (magma-like), for low → high dB.
constexpr std::array<Rgb, 5> kHeat{{{0, 0, 16}, {80, 18, 123}, {183, 55, 121}, {252, 137, 97}, {252, 253, 191}}};
// One per precision, in order (repeats past the last).
constexpr std::array<Rgb, 6> kCurves{{{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14}, {148, 103, 189}, {140, 86, 75}}};

struct Image {
  int width, height;
  std::vector<std::uint8_t> rgb;
  Image(int w, int h) : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3) {}
  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    std::memcpy(&rgb[(static_cast<std::size_t>(y) * width + x) * 3], c.data(), 3);
  }
};

Rgb heat(double t) {
  t = std::clamp(t, 0.0, 1.0) * (kHeat.size() - 1);
  const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(t), kHeat.size() - 2);
  const double f = t - static_cast<double>(i);
  Rgb c;
  for (std::size_t k = 0; k < 3; ++k) c[k] = static_cast<std::uint8_t>(std::lround(kHeat[i][k] + f * (kHeat[i + 1][k] - kHeat[i][k])));
  return c;
}

// The spectrogram resampled (nearest) into the panel at (x0, y0).
void draw_spectrogram(Image& img, int x0, int y0, const LogMel& mel, double top_db) {
  if (mel.frames == 0) return;
  for (int x = 0; x < kQualityPanelWidth; ++x) {
    const std::int64_t f = std::min<std::int64_t>(mel.frames - 1, x * mel.frames / kQualityPanelWidth);
    for (int y = 0; y < kQualityPanelHeight; ++y) {
      const std::int64_t band = (kQualityPanelHeight - 1 - y) * kMelBands / kQualityPanelHeight;
      img.set(x0 + x, y0 + y, heat((mel.at(f, band) - (top_db - kSpectrumRangeDb)) / kSpectrumRangeDb));
    }
  }
}

void draw_line(Image& img, int x0, int y0, int x1, int y1, Rgb c) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int err = dx + dy;;) {
    img.set(x0, y0, c);
    if (x0 == x1 && y0 == y1) return;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void draw_curves(Image& img, int x0, int y0, int width, const std::vector<std::vector<double>>& curves) {
  draw_line(img, x0, y0 + kQualityCurveHeight - 1, x0 + width - 1, y0 + kQualityCurveHeight - 1, kAxis);
  draw_line(img, x0, y0, x0, y0 + kQualityCurveHeight - 1, kAxis);
  double top = 0;
  for (const auto& c : curves)
    for (double v : c) top = std::max(top, v);
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const std::vector<double>& c = curves[i];
    auto px = [&](std::size_t f) { return x0 + static_cast<int>(c.size() > 1 ? f * (width - 1) / (c.size() - 1) : 0); };
    auto py = [&](std::size_t f) {
      const double t = top > 0 ? c[f] / top : 0.0;
      return y0 + kQualityCurveHeight - 1 - static_cast<int>(std::lround(t * (kQualityCurveHeight - 1)));
    };
    for (std::size_t f = 0; f < c.size(); ++f)
      draw_line(img, px(f ? f - 1 : 0), py(f ? f - 1 : 0), px(f), py(f), kCurves[i % kCurves.size()]);
  }
}

}  // namespace

void write_quality_png(const std::filesystem::path& path, const LogMel& reference, const LogMel& worst,
                       const std::vector<std::vector<double>>& frame_kl) {
  Image img(kQualityPngWidth, kQualityPngHeight);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) img.set(x, y, kBackground);
  double top_db = -INFINITY;
  for (const LogMel* m : {&reference, &worst})
    for (float v : m->db) top_db = std::max(top_db, double{v});
  draw_spectrogram(img, kQualityMargin, kQualityMargin, reference, top_db);
  draw_spectrogram(img, 2 * kQualityMargin + kQualityPanelWidth, kQualityMargin, worst, top_db);
  draw_curves(img, kQualityMargin, 2 * kQualityMargin + kQualityPanelHeight, kQualityPngWidth - 2 * kQualityMargin, frame_kl);

  const std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "wb"), std::fclose);
  if (!file) throw InvalidArgument("cannot write '" + path.string() + "'");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw InvalidArgument("libpng could not start writing '" + path.string() + "'");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw InvalidArgument("libpng failed writing '" + path.string() + "'");
  }
  png_init_io(png, file.get());
  png_set_IHDR(png, info, img.width, img.height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < img.height; ++y) png_write_row(png, &img.rgb[static_cast<std::size_t>(y) * img.width * 3]);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(file.get()) != 0) throw InvalidArgument("cannot write '" + path.string() + "'");
}

}  // namespace hs::cli
