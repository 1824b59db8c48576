#include "engine/model/codec/offline_decode.h"

#include <algorithm>
#include <memory>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kLatentFramesPerCodeFrame = 2;
constexpr std::int64_t kOverlapLatentFrames = kOverlapCodeFrames * kLatentFramesPerCodeFrame;  // 104

// Columns [begin, begin + count) of host I32 [Q, N] codes, repeated cyclically (the doubling the
// reference does) when count runs past N.
Tensor cyclic_columns(const Tensor& codes, std::int64_t begin, std::int64_t count) {
  const std::int64_t rows = codes.dim(0), len = codes.dim(1);
  Tensor out = Tensor::zeros({rows, count}, DType::I32);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < count; ++j)
      out.data<std::int32_t>()[r * count + j] = codes.data<std::int32_t>()[r * len + (begin + j) % len];
  return out;
}

}  // namespace

Tensor pad_codes_for_windows(const Tensor& codes) {
  if (codes.device() != Device::Cpu || codes.dtype() != DType::I32 || codes.rank() != 2 || codes.dim(1) == 0)
    throw InvalidArgument("pad_codes_for_windows: codes must be host I32 [Q, N] with N > 0, got " +
                          shape_str(codes.shape()));
  // Doubling a sequence until it is long enough and cutting it equals repeating it cyclically.
  Tensor padded = codes.dim(1) < kWindowCodeFrames ? cyclic_columns(codes, 0, kWindowCodeFrames) : codes;
  const std::int64_t len = padded.dim(1);
  if ((len - 2 * kOverlapCodeFrames) % kHopCodeFrames > 0) {
    const std::int64_t hops = (len - kOverlapCodeFrames + kHopCodeFrames - 1) / kHopCodeFrames;
    padded = cyclic_columns(padded, 0, hops * kHopCodeFrames + kOverlapCodeFrames);
  }
  return padded;
}

std::vector<Tensor> window_latents(const CodecModel& model, const Tensor& codes, NoiseSource& noise) {
  const Tensor padded = pad_codes_for_windows(codes);
  Backend& be = model.backend();
  const FlowMatcher& flow = model.flow();
  // Two window shapes: the first (no context) and every later one (104 frames of context), each
  // solved in its own workspace, so later windows replay one captured graph.
  std::unique_ptr<FlowMatcher::Workspace> first, later;
  std::vector<Tensor> latents;
  for (std::int64_t start = 0; start + kHopCodeFrames <= padded.dim(1); start += kHopCodeFrames) {
    const Tensor features = flow.condition(cyclic_columns(padded, start, kWindowCodeFrames));
    Tensor prefix;
    if (!latents.empty()) {
      const Tensor& previous = latents.back();
      prefix = previous.slice(previous.dim(0) - kOverlapLatentFrames, previous.dim(0));
    }
    auto& ws = latents.empty() ? first : later;
    if (!ws) ws = flow.make_workspace(features.dim(0), prefix.defined() ? prefix.dim(0) : 0);
    const Tensor window = flow.sample(features, prefix, noise, *ws);
    latents.push_back(be.alloc(window.shape(), window.dtype()));  // the workspace is reused
    be.copy(window, latents.back());
  }
  return latents;
}

Tensor render_windows(const CodecModel& model, const std::vector<Tensor>& latents, std::int64_t code_frames) {
  if (latents.empty()) throw InvalidArgument("render_windows: no window latents");
  Backend& be = model.backend();
  const ScalarDecoder& decoder = model.decoder();
  const std::int64_t per_code = model.samples_per_code_frame();
  const std::int64_t window = kWindowCodeFrames * per_code, hop = kHopCodeFrames * per_code;
  const std::int64_t overlap = window - hop;
  const auto count = static_cast<std::int64_t>(latents.size());
  const std::int64_t channels = latents.front().dim(1) / decoder.latent_channels();
  Tensor out = be.alloc({channels, hop * (count - 1) + window}, DType::F32);
  Tensor fade_old = be.alloc({channels, overlap}, DType::F32);
  Tensor fade_new = be.alloc({channels, overlap}, DType::F32);
  Tensor rest = be.alloc({channels, window - overlap}, DType::F32);
  for (std::int64_t i = 0; i < count; ++i) {
    Tensor audio = decoder.decode(decoder.split_channels(latents[static_cast<std::size_t>(i)]));
    audio = audio.reshape({channels, audio.dim(2)});
    if (audio.dim(1) < window)
      throw InvalidArgument("render_windows: window " + std::to_string(i) + " decodes to " +
                            std::to_string(audio.dim(1)) + " samples, fewer than " + std::to_string(window));
    if (i == 0) {
      Tensor head = be.alloc({channels, window}, DType::F32);
      be.read_columns(audio, 0, head);
      be.write_columns(head, out, 0);
      continue;
    }
    be.read_columns(out, i * hop, fade_old);
    be.read_columns(audio, 0, fade_new);
    be.crossfade(fade_old, fade_new, fade_old);
    be.write_columns(fade_old, out, i * hop);
    be.read_columns(audio, overlap, rest);
    be.write_columns(rest, out, i * hop + overlap);
  }
  Tensor result = be.alloc({channels, std::min(code_frames * per_code, out.dim(1))}, DType::F32);
  be.read_columns(out, 0, result);
  return result;
}

Tensor decode_offline(const CodecModel& model, const Tensor& codes, NoiseSource& noise) {
  return render_windows(model, window_latents(model, codes, noise), codes.dim(1));
}

}  // namespace hs
