// StreamingDecoder against the reference's offline decode, on the tiny golden codec and the
// golden codec_long codes (700 frames, 56 s; skipped when ../shared is absent). For each chunk
// length C and carried context it reports:
//  - snr_db: 10·log10(Σ offline² / Σ (stream − offline)²) over the whole stereo output, and
//    latent_snr_db the same on the flow-matching latents;
//  - latency_ms: StreamingDecoder::algorithmic_latency_ms();
//  - rtf: wall-clock compute seconds per second of audio on this machine.
// Both decodes draw their noise from one table indexed by absolute latent frame (the start noise
// of latent frame t is the same whichever window or chunk computes it), so the difference measures
// the schedule — context per chunk, in-context carry — and not two different noise draws.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/noise.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/offline_decode.h"
#include "engine/pipeline/streaming_decoder.h"

namespace hs {
namespace {

constexpr std::int64_t kLatentsPerCodeFrame = 2;
constexpr std::int64_t kStereo = 2;
constexpr std::uint64_t kNoiseSeed = 7;
constexpr double kCodeFramesPerSecond = 12.5;

std::optional<std::filesystem::path> shared_golden() {
  const char* env = std::getenv("HEARTSTREAM_SHARED_DIR");
  const std::filesystem::path root = env && *env ? env : HEARTSTREAM_SHARED_DIR;
  std::error_code ec;
  if (!std::filesystem::exists(root / "golden" / "codec_long.safetensors", ec)) return std::nullopt;
  return root / "golden";
}

// Start noise by absolute latent frame. FlowMatcher::sample draws twice per call: the fresh part
// of its initial latent (unread by the solver: zeros here), then the start noise [1, T, C], which
// receives table rows [offset, offset + T) for the next scheduled offset.
class PositionalNoise final : public NoiseSource {
 public:
  PositionalNoise(Tensor table, std::deque<std::int64_t> offsets) : table_(std::move(table)), offsets_(std::move(offsets)) {}
  void fill(Tensor& out) override {
    const bool start_noise = (calls_++ % 2) == 1;
    float* dst = out.data<float>();
    if (!start_noise) {
      std::fill_n(dst, out.numel(), 0.0f);
      return;
    }
    if (offsets_.empty()) throw Error("PositionalNoise: more flow-matching calls than scheduled offsets");
    const std::int64_t begin = offsets_.front() * table_.dim(1);
    offsets_.pop_front();
    if (begin + out.numel() > table_.numel()) throw Error("PositionalNoise: the table is too short");
    std::copy_n(table_.data<float>() + begin, out.numel(), dst);
  }

 private:
  Tensor table_;  // [latent frames, channels]
  std::deque<std::int64_t> offsets_;
  std::int64_t calls_ = 0;
};

struct Reference {
  std::unique_ptr<CpuBackend> backend;
  std::unique_ptr<CodecModel> model;
  Tensor codes;     // host I32 [8, N]
  Tensor table;     // noise by latent frame
  Tensor audio;     // offline [2, N · 3840], host
  Tensor latents;   // offline latents of frames [0, N) stitched from the windows [2N, C], host
};

// The offline decode with positional noise: window w starts at latent frame w · 640.
const Reference* reference() {
  static const std::unique_ptr<Reference> ref = []() -> std::unique_ptr<Reference> {
    const auto golden = shared_golden();
    if (!golden) return nullptr;
    auto r = std::make_unique<Reference>();
    r->backend = std::make_unique<CpuBackend>();
    r->model = std::make_unique<CodecModel>(CodecModel::load(*r->backend, *golden / "codec-tiny"));
    r->codes = SafetensorsFile::open(*golden / "codec_long.safetensors").get("codes").clone();
    const std::int64_t padded = pad_codes_for_windows(r->codes).dim(1);
    const std::int64_t channels = r->model->flow().latent_channels();
    r->table = Tensor::zeros({padded * kLatentsPerCodeFrame, channels}, DType::F32);
    GaussianNoise(kNoiseSeed).fill(r->table);
    std::deque<std::int64_t> offsets;
    for (std::int64_t start = 0; start + kHopCodeFrames <= padded; start += kHopCodeFrames)
      offsets.push_back(start * kLatentsPerCodeFrame);
    PositionalNoise noise(r->table, offsets);
    const std::vector<Tensor> windows = window_latents(*r->model, r->codes, noise);
    r->audio = r->backend->download(render_windows(*r->model, windows, r->codes.dim(1)));
    // Each latent frame from the last window that computed it freshly (the windows' own carry).
    const std::int64_t frames = r->codes.dim(1) * kLatentsPerCodeFrame;
    r->latents = Tensor::zeros({frames, channels}, DType::F32);
    for (std::size_t w = 0; w < windows.size(); ++w) {
      const Tensor host = r->backend->download(windows[w]);
      const std::int64_t first = static_cast<std::int64_t>(w) * kHopCodeFrames * kLatentsPerCodeFrame;
      for (std::int64_t t = 0; t < host.dim(0) && first + t < frames; ++t)
        std::copy_n(host.data<float>() + t * channels, channels, r->latents.data<float>() + (first + t) * channels);
    }
    return r;
  }();
  return ref.get();
}

double snr_db(const float* ref, const float* test, std::int64_t n) {
  double signal = 0.0, error = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    signal += double{ref[i]} * ref[i];
    error += (double{test[i]} - ref[i]) * (double{test[i]} - ref[i]);
  }
  return 10.0 * std::log10(signal / error);
}

void BM_StreamingVsOffline(benchmark::State& state) {
  const Reference* ref = reference();
  if (ref == nullptr) {
    state.SkipWithError("shared data absent: golden/codec_long.safetensors (set HEARTSTREAM_SHARED_DIR)");
    return;
  }
  const std::int64_t chunk = state.range(0), context = state.range(1), frames = ref->codes.dim(1);
  const std::int64_t channels = ref->latents.dim(1);
  double snr = 0.0, latent_snr = 0.0, latency_ms = 0.0, seconds = 0.0;
  for (auto _ : state) {
    std::deque<std::int64_t> offsets;
    for (std::int64_t first = 0; first < frames; first += chunk)
      offsets.push_back((first - std::min(context, first)) * kLatentsPerCodeFrame);
    PositionalNoise noise(ref->table, offsets);
    Tensor latents = Tensor::zeros(ref->latents.shape(), DType::F32);
    StreamingDecoderOptions options;
    options.chunk_frames = chunk;
    options.context_frames = context;
    options.on_latents = [&](const Tensor& l, std::int64_t first) {
      const Tensor host = ref->backend->download(l);
      std::copy_n(host.data<float>(), host.numel(), latents.data<float>() + first * kLatentsPerCodeFrame * channels);
    };
    StreamingDecoder decoder(*ref->model, noise, options);
    const auto start = std::chrono::steady_clock::now();
    std::vector<float> pcm;
    for (std::int64_t t = 0; t < frames; ++t) {
      std::vector<std::int32_t> frame(static_cast<std::size_t>(ref->codes.dim(0)));
      for (std::int64_t k = 0; k < ref->codes.dim(0); ++k)
        frame[static_cast<std::size_t>(k)] = ref->codes.data<std::int32_t>()[k * frames + t];
      decoder.push(frame);
      const auto part = decoder.pull();
      pcm.insert(pcm.end(), part.begin(), part.end());
    }
    decoder.finish();
    const auto rest = decoder.pull();
    pcm.insert(pcm.end(), rest.begin(), rest.end());
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::vector<float> planar(pcm.size());  // [2, n] like the offline audio
    const std::int64_t n = static_cast<std::int64_t>(pcm.size()) / kStereo;
    for (std::int64_t t = 0; t < n; ++t)
      for (std::int64_t c = 0; c < kStereo; ++c) planar[static_cast<std::size_t>(c * n + t)] = pcm[static_cast<std::size_t>(t * kStereo + c)];
    if (n != ref->audio.dim(1)) throw Error("streaming output length differs from the offline decode");
    snr = snr_db(ref->audio.data<float>(), planar.data(), ref->audio.numel());
    latent_snr = snr_db(ref->latents.data<float>(), latents.data<float>(), latents.numel());
    latency_ms = static_cast<double>(decoder.algorithmic_latency_ms());
  }
  state.counters["snr_db"] = snr;
  state.counters["latent_snr_db"] = latent_snr;
  state.counters["latency_ms"] = latency_ms;
  state.counters["rtf"] = seconds / (static_cast<double>(frames) / kCodeFramesPerSecond);
}

BENCHMARK(BM_StreamingVsOffline)
    ->ArgNames({"C", "context"})
    ->ArgsProduct({{4, 8, 16, 32, 64}, {0, 16, 52}})
    ->Args({kWindowCodeFrames, kOverlapCodeFrames})  // one offline window per chunk: the schedules nearly agree
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace hs

BENCHMARK_MAIN();
