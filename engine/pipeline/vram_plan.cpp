#include "engine/pipeline/vram_plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "engine/backends/backend_factory.h"
#include "engine/core/device_memory_budget.h"
#include "engine/core/error.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/lm/flavor.h"
#include "engine/model/lm/mula_weights.h"
#include "engine/pipeline/codec_batch.h"

namespace hs {
namespace {

// The CUDA backends' own buffers: each model's scratch (engine/backends/backend_factory.h) and a
// cuBLASLt workspace each (engine/core/device_memory_budget.h).
constexpr std::size_t kLmBackendBytes = kLmScratchBytes + kGemmWorkspaceBytes;
constexpr std::size_t kCodecBackendBytes = kCodecScratchBytes + kGemmWorkspaceBytes;
constexpr std::int64_t kRowMultiple = 16;  // weights are stored with rows padded to 16 (cuBLASLt)
constexpr std::int64_t kFp8MinIn = 16;     // narrower codec linears stay bf16 (codec_weights.cpp)
constexpr std::int64_t kFrameMs = 80;
constexpr std::int64_t kDecoderPositions = 8;
constexpr double kGb = 1e9;

std::size_t element_bytes(Precision p) { return p == Precision::F32 ? 4 : p == Precision::BF16 ? 2 : 1; }

// A linear [rows, in] as the CUDA backend stores it: rows padded, fp8 with an fp32 scale per row,
// 4-bit as half a byte a value and an fp32 scale per block (bf16 when in is not whole blocks).
std::size_t linear_bytes(std::int64_t rows, std::int64_t in, Precision p) {
  const auto padded = static_cast<std::size_t>((rows + kRowMultiple - 1) / kRowMultiple * kRowMultiple);
  const auto width = static_cast<std::size_t>(in);
  if (is_4bit(p))
    return q4_format(p, in) ? padded * width / 2 + static_cast<std::size_t>(rows) * (width / kQ4Block) * sizeof(float)
                            : linear_bytes(rows, in, Precision::BF16);
  return padded * width * element_bytes(p) + (p == Precision::FP8 ? padded * sizeof(float) : 0);
}

std::size_t numel(const Shape& shape) { return static_cast<std::size_t>(shape_numel(shape)); }

// HeartMuLa: every linear at `p`; norms and biases fp32; the embedding tables in host memory.
std::size_t lm_weight_bytes(const MulaConfig& config, Precision p) {
  std::size_t bytes = 0;
  for (const auto& [name, shape] : mula_tensor_shapes(config)) {
    if (name.find("embedding") != std::string::npos) continue;
    if (shape.size() == 3) bytes += static_cast<std::size_t>(shape[0]) * linear_bytes(shape[2], shape[1], p);
    else if (shape.size() == 2) bytes += linear_bytes(shape[0], shape[1], p);
    else bytes += numel(shape) * sizeof(float);
  }
  return bytes;
}

// HeartCodec: linears at `p` (fp8 only 16 or more wide), convolutions bf16 (fp32 at fp32), the
// weight-norm gains folded into them, codebooks, tables, norms and biases fp32.
std::size_t codec_weight_bytes(const CodecConfig& config, Precision p) {
  const Precision conv = p == Precision::F32 ? Precision::F32 : Precision::BF16;
  std::size_t bytes = 0;
  for (const auto& [name, shape] : codec_tensor_shapes(config)) {
    if (name.ends_with(".original0") || name.ends_with(".weight_g")) continue;
    if (shape.size() == 3) bytes += linear_bytes(shape[0], shape[1] * shape[2], conv);
    else if (shape.size() == 2 && name.ends_with(".weight"))
      bytes += linear_bytes(shape[0], shape[1], p == Precision::FP8 && shape[1] % kFp8MinIn != 0 ? Precision::BF16 : p);
    else bytes += numel(shape) * sizeof(float);
  }
  return bytes;
}

// The largest fp8 matrix of each model, widened to bf16 by the portable path (CudaBackend
// State::widened, one per backend): the LM's stacked [W1; W3]; the codec's stacks of up to three
// linears (q, k, v) are bounded by three times its largest.
std::size_t lm_widened_bytes(const MulaConfig& config) {
  const LlamaFlavor& bb = llama_flavor(config.backbone_flavor);
  std::size_t largest = static_cast<std::size_t>(2 * bb.ffn_dim * bb.dim);
  for (const auto& [name, shape] : mula_tensor_shapes(config))
    if (shape.size() == 2 && name.find("embedding") == std::string::npos) largest = std::max(largest, numel(shape));
  return largest * 2;
}

std::size_t codec_widened_bytes(const CodecConfig& config) {
  std::size_t largest = 0;
  for (const auto& [name, shape] : codec_tensor_shapes(config))
    if (shape.size() == 2 && name.ends_with(".weight")) largest = std::max(largest, numel(shape));
  return 3 * largest * 2;
}

std::size_t kv_bytes_per_position(const LlamaFlavor& f, Precision p, KvCache kv) {
  const auto vectors = static_cast<std::size_t>(2 * f.layers * f.kv_heads);  // keys and values
  const auto head_dim = static_cast<std::size_t>(f.head_dim());
  if (kv == KvCache::Fp8) return vectors * (head_dim + sizeof(float));
  return vectors * head_dim * (p == Precision::F32 ? 4 : 2);
}

// One song's LM buffers besides its KV cache, per prompt row (MulaSession and its StackScratch,
// sized for the prefill): the residual stream twice, q / k / v and the SwiGLU halves in the
// activation dtype (fp32), the normalised rows, attention output and SwiGLU product in the narrow
// one, and the prompt's text embeddings (fp32).
std::size_t lm_song_buffers(const LlamaFlavor& f, std::int64_t rows, Precision p) {
  const std::int64_t act = 4, narrow = p == Precision::F32 ? 4 : 2;
  const std::int64_t q = f.heads * f.head_dim(), kv = f.kv_heads * f.head_dim();
  const std::int64_t per_row = f.dim * (3 * act + narrow) + q * (act + narrow) + 2 * kv * act + f.ffn_dim * (2 * act + narrow);
  return static_cast<std::size_t>(rows * per_row);
}

// The streaming codec's buffers for one song, in tensors of init_channel channels at the output
// rate over a chunk, fp32 (the scalar decoder's widest stage): 12 of them. 8 are the scalar
// decoder's (ScalarDecoderStream's buffers per stereo channel: three at the post stage's full rate,
// two at half of it in the last block), the rest the flow solve's and the first chunk's shapes.
// Calibrated on the H200 at the released shapes: the codec's peak less its weights and fixed
// buffers was 0.16 (fp8) and 0.17 GB (bf16) over a 240 s song in chunks of 16 frames
// (benchmarks/results/kv_cache_fp8_h200.json); this gives 0.19 GB.
constexpr std::int64_t kCodecSongTensors = 12, kDecoderTensors = 8;

std::size_t codec_tensors(const CodecConfig& c, std::int64_t chunk_frames, std::int64_t tensors) {
  const std::int64_t samples = chunk_frames * c.sample_rate * kFrameMs / 1000;
  return static_cast<std::size_t>(tensors * samples * c.init_channel) * sizeof(float);
}

struct Choice {
  Precision precision, codec_precision;
  Device codec_device;
  KvCache kv;
};

// From the most precise to the smallest: the codec on the GPU before the CPU (on the CPU it does
// not stream in real time at the released shapes), then the LM's precision (it matters most: logit
// error 0.107 at fp8 against 0.028 for the fp8 KV cache, docs/fp8.md), the codec's, the KV cache's.
// fp32 (the reference, several times the bf16 frame time), 4-bit language models (experimental) and
// an fp32 codec on the GPU are planned only when asked for.
std::vector<Choice> choices() {
  constexpr std::array kLm{Precision::F32, Precision::BF16, Precision::FP8, Precision::NF4, Precision::INT4};
  constexpr std::array kCodecOnGpu{Precision::F32, Precision::BF16, Precision::FP8};
  std::vector<Choice> out;
  for (const Device codec_device : {Device::Cuda, Device::Cpu})
    for (const Precision lm : kLm)
      for (const Precision codec : kCodecOnGpu) {
        if (codec_device == Device::Cpu && codec != Precision::F32) continue;  // the CPU computes fp32 only
        for (const KvCache kv : {KvCache::Auto, KvCache::Fp8}) out.push_back({lm, codec, codec_device, kv});
      }
  return out;
}

// The codec's precision beside a given LM precision on the GPU (BackendChoice::codec_precision_or_default).
Precision codec_follows(Precision lm) { return is_4bit(lm) ? Precision::FP8 : lm; }

bool keeps(const Choice& c, const VramRequest& r) {
  const bool lm = r.precision ? *r.precision == c.precision : c.precision == Precision::BF16 || c.precision == Precision::FP8;
  std::optional<Precision> codec = r.codec_precision;
  if (!codec && r.precision && c.codec_device == Device::Cuda) codec = codec_follows(*r.precision);
  const bool codec_kept = codec ? *codec == c.codec_precision
                                : c.codec_device == Device::Cpu || c.codec_precision != Precision::F32;
  return lm && codec_kept && (!r.codec_device || *r.codec_device == c.codec_device) && (!r.kv_cache || *r.kv_cache == c.kv);
}

std::string gb(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(bytes) / kGb);
  return text;
}

std::string gb_up(std::size_t bytes) {  // rounded up: a budget named in a message must fit
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", std::ceil(static_cast<double>(bytes) / kGb * 100) / 100);
  return text;
}

const char* precision_text(Precision p) {
  constexpr std::array<const char*, 5> kNames{"fp32", "bf16", "fp8", "nf4", "int4"};  // by enum value
  return kNames[static_cast<std::size_t>(p)];
}

// The most songs whose total fits `budget` (at least `fits`, which does): total() grows with the
// songs, so a binary search between them and the songs the room holds without codec calls.
std::int64_t most_songs(const VramNeeds& n, std::size_t budget, std::int64_t fits) {
  std::int64_t lo = fits;
  std::int64_t hi = static_cast<std::int64_t>((budget - n.lm_weights - n.codec_weights - n.fixed) / n.per_song) + 1;
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (n.total(mid) <= budget ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace

VramNeeds vram_needs(const MulaConfig& mula, const CodecConfig& codec, const VramRequest& r, Precision precision,
                     Precision codec_precision, Device codec_device, KvCache kv_cache) {
  const LlamaFlavor& bb = llama_flavor(mula.backbone_flavor);
  const LlamaFlavor& dec = llama_flavor(mula.decoder_flavor);
  const std::int64_t batch = r.cfg ? 2 : 1;
  const std::int64_t frames = r.song_ms / kFrameMs + 1;
  VramNeeds n;
  n.lm_weights = lm_weight_bytes(mula, precision);
  n.fixed = kLmBackendBytes;
  if (codec_device == Device::Cuda) {
    n.codec_weights = codec_weight_bytes(codec, codec_precision);
    n.fixed += kCodecBackendBytes;
  }
  if ((r.fp8_widened && precision == Precision::FP8) || is_4bit(precision)) n.fixed += lm_widened_bytes(mula);
  if (r.fp8_widened && codec_device == Device::Cuda && codec_precision == Precision::FP8)
    n.fixed += codec_widened_bytes(codec);
  n.kv_per_frame = static_cast<std::size_t>(batch) * kv_bytes_per_position(bb, precision, kv_cache);
  n.song_kv = static_cast<std::size_t>(r.prompt_tokens + frames) * n.kv_per_frame;
  n.per_song = n.song_kv +
               static_cast<std::size_t>(batch * kDecoderPositions) * kv_bytes_per_position(dec, precision, KvCache::Auto) +
               lm_song_buffers(bb, batch * r.prompt_tokens, precision);
  if (codec_device == Device::Cuda) {
    // The flow solve's buffers span the chunk, the scalar decoder's its longest push.
    const std::size_t flow = codec_tensors(codec, r.chunk_frames, kCodecSongTensors - kDecoderTensors);
    const std::size_t decoder = codec_tensors(codec, std::min(r.chunk_frames, kDecoderPushFrames), kDecoderTensors);
    if (r.codec_batch > 0) {
      n.codec_flow_song = flow;
      n.codec_decoder_song = decoder;
      n.codec_batch = r.codec_batch;
    } else {
      n.per_song += flow + decoder;
    }
  }
  return n;
}

std::size_t VramNeeds::codec_calls(std::int64_t songs) const {
  std::int64_t sizes = 0, largest = 0;  // songs of every call size run, and of the largest
  for (std::int64_t k = 1; k <= std::min(songs, codec_batch); ++k) {
    const std::int64_t size = codec_call_size(k, codec_batch);
    if (size != largest) sizes += size;
    largest = size;
  }
  return static_cast<std::size_t>(sizes) * codec_flow_song + static_cast<std::size_t>(largest) * codec_decoder_song;
}

VramPlan plan_vram(const MulaConfig& mula, const CodecConfig& codec, const VramRequest& r) {
  if (r.songs < 1) throw InvalidArgument("vram plan: songs must be at least 1");
  if (r.song_ms < kFrameMs) throw InvalidArgument("vram plan: the song must be at least 80 ms");
  if (r.fewer_songs && !r.codec_device) {
    // Fewer songs with the codec on the GPU before all of them with the codec on the CPU, where not
    // one song streams in real time at the released shapes (a daemon of 256 sessions on an 80 GB
    // card was planned so, and ran one song at a time at 10 s per codec chunk).
    VramRequest on_gpu = r;
    on_gpu.codec_device = Device::Cuda;
    try {
      return plan_vram(mula, codec, on_gpu);
    } catch (const OutOfMemory&) {  // not one song with the codec on the GPU
    }
  }
  std::size_t smallest = 0;
  static const std::vector<Choice> kChoices = choices();
  for (const Choice& c : kChoices) {
    if (!keeps(c, r)) continue;
    const VramNeeds n = vram_needs(mula, codec, r, c.precision, c.codec_precision, c.codec_device, c.kv);
    const std::size_t total = n.total(r.songs);
    if (total > r.budget_bytes) {
      smallest = smallest == 0 ? total : std::min(smallest, total);
      continue;
    }
    VramPlan plan{c.precision, c.codec_precision, c.codec_device, c.kv, n, r.budget_bytes, r.song_ms, r.songs, 0, 0};
    plan.most_songs = most_songs(n, r.budget_bytes, r.songs);
    // One song's KV cache in the rest of the budget, and no more positions than the backbone has.
    const auto frames = std::min(static_cast<std::int64_t>((r.budget_bytes - n.besides_kv(1)) / n.kv_per_frame),
                                 llama_flavor(mula.backbone_flavor).max_seq_len);
    plan.longest_song_ms = (frames - r.prompt_tokens - 1) * kFrameMs;
    return plan;
  }
  if (smallest == 0)
    throw InvalidArgument("vram plan: no plan keeps the settings given (the codec takes fp32, bf16 or fp8 on the "
                          "GPU, fp32 on the CPU)");
  if (r.fewer_songs && r.songs > 1) {
    VramRequest one = r;
    one.songs = 1;
    VramPlan plan = plan_vram(mula, codec, one);
    plan.songs = std::min(r.songs, plan.most_songs);
    return plan;
  }
  throw OutOfMemory("vram budget " + gb(r.budget_bytes) + ": nothing fits " + std::to_string(r.songs) + " song" +
                    (r.songs == 1 ? "" : "s") + " of " + std::to_string(r.song_ms / 1000) +
                    " s; the smallest budget that does is " + gb_up(smallest) +
                    " (or ask for a shorter song or fewer songs)");
}

std::string describe(const VramPlan& p) {
  char line[160];
  std::string out = "device memory plan for a budget of " + gb(p.budget_bytes) + ":\n";
  std::snprintf(line, sizeof line, "  language model  %-5s weights %s\n", precision_text(p.precision),
                gb(p.needs.lm_weights).c_str());
  out += line;
  if (p.codec_device == Device::Cuda)
    std::snprintf(line, sizeof line, "  codec           %-5s weights %s, on the GPU\n", precision_text(p.codec_precision),
                  gb(p.needs.codec_weights).c_str());
  else
    std::snprintf(line, sizeof line, "  codec           fp32  on the CPU (not real time at the released shapes)\n");
  out += line;
  std::snprintf(line, sizeof line, "  KV cache        %-5s %.1f MB per second of a song\n",
                p.kv_cache == KvCache::Fp8 ? "fp8" : "auto", static_cast<double>(p.needs.kv_per_frame) * 12.5 / 1e6);
  out += line;
  std::snprintf(line, sizeof line, "  buffers         %s fixed, %s per song of %lld s\n", gb(p.needs.fixed).c_str(),
                gb(p.needs.per_song).c_str(), static_cast<long long>(p.song_ms / 1000));
  out += line;
  if (p.needs.codec_batch > 0) {
    std::snprintf(line, sizeof line, "  codec calls     %s: buffers for every call size up to %lld songs\n",
                  gb(p.needs.codec_calls(p.songs)).c_str(),
                  static_cast<long long>(codec_call_size(p.songs, p.needs.codec_batch)));
    out += line;
  }
  std::snprintf(line, sizeof line, "  planned         %s for %lld song%s of %lld s; at most %lld at once, or one of %lld s\n",
                gb(p.total()).c_str(), static_cast<long long>(p.songs), p.songs == 1 ? "" : "s",
                static_cast<long long>(p.song_ms / 1000), static_cast<long long>(p.most_songs),
                static_cast<long long>(p.longest_song_ms / 1000));
  out += line;
  return out;
}

std::size_t parse_vram_budget_gb(double value, std::string_view option) {
  if (!(value > 0) || !std::isfinite(value) || value > 1e6)
    throw InvalidArgument(std::string(option) + " " + std::to_string(value) + ": a budget in GB (10^9 bytes), above 0");
  return static_cast<std::size_t>(value * kGb);
}

}  // namespace hs
