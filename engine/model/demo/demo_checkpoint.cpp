#include "engine/model/demo/demo_checkpoint.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include <boost/json.hpp>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/lm/mula_weights.h"
#include "engine/model/demo/demo_tokenizer.h"
#include "engine/model/demo/demo_weights.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kBackboneFlavor = "llama-demo";  // 8192 positions: 240 s songs
constexpr std::string_view kDecoderFlavor = "llama-demo-dec";
constexpr std::int64_t kCodeCount = 8192;        // codec codebook size: the ids a frame may hold
constexpr std::int64_t kAudioVocab = 8197;       // the real model's: codes, then specials
constexpr std::int32_t kAudioEosId = 8193;       // the real gen_config's
constexpr std::int32_t kEmptyId = 0;             // the real gen_config's
constexpr std::int64_t kCodebooks = 8;
constexpr std::int64_t kMuqDim = 512;
constexpr std::string_view kWeightsFile = "model.safetensors";
constexpr std::string_view kConfigFile = "config.json";
constexpr std::uint64_t kCodecSeedOffset = 1;    // the codec draws its own stream

// The released checkpoint (REFERENCE.md "Checkpoint layout", "The language model", "The codec").
constexpr std::string_view kReleasedBackboneFlavor = "llama-3B";
constexpr std::string_view kReleasedDecoderFlavor = "llama-300M";
constexpr std::int64_t kReleasedTextVocab = 128256;  // Llama 3's
constexpr std::int32_t kLlama3BosId = 128000;        // <|begin_of_text|>; <|end_of_text|> follows

// The demo codec's output level comes from a 2.56 s decode. At the released shapes a CPU decode
// costs ~0.12 TFLOP per code frame (1.5 B DiT parameters × 2 latent frames × 10 Euler steps × 2
// guidance rows) and reads the 6 GB of weights at every step, so one code frame (3840 samples per
// channel) sets it there: the level matters little for random weights, only that the audio is
// finite and neither silent nor clipped (codec_output_gain checks both).
constexpr std::int64_t kDemoCalibrationCodeFrames = 32;
constexpr std::int64_t kReleasedCalibrationCodeFrames = 1;

constexpr std::uint64_t kProgressBytes = 1'000'000'000;  // a progress line per GB written

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text << '\n';
  out.close();
  if (!out) throw Error("cannot write '" + path.string() + "'");
}

json::array integers(const std::vector<std::int64_t>& values) { return json::array(values.begin(), values.end()); }

json::object mula_config_json(const MulaConfig& c) {
  return {{"architectures", json::array{"HeartMuLa"}},
          {"model_type", "heartmula"},
          {"dtype", "bfloat16"},
          {"backbone_flavor", c.backbone_flavor},
          {"decoder_flavor", c.decoder_flavor},
          {"text_vocab_size", c.text_vocab_size},
          {"audio_vocab_size", c.audio_vocab_size},
          {"audio_num_codebooks", c.audio_num_codebooks},
          {"muq_dim", c.muq_dim}};
}

json::object codec_config_json(const CodecConfig& c) {
  return {{"architectures", json::array{"HeartCodec"}},
          {"model_type", "heartcodec"},
          {"dtype", "float32"},
          {"dim", c.dim},
          {"codebook_size", c.codebook_size},
          {"codebook_dim", c.codebook_dim},
          {"num_quantizers", c.num_quantizers},
          {"num_attention_heads", c.num_attention_heads},
          {"attention_head_dim", c.attention_head_dim},
          {"num_layers", c.num_layers},
          {"num_layers_2", c.num_layers_2},
          {"in_channels", c.in_channels},
          {"out_channels", c.out_channels},
          {"upsample_factors", integers(c.upsample_factors)},
          {"upsample_kernel_sizes", integers(c.upsample_kernel_sizes)},
          {"latent_hidden_dim", c.latent_hidden_dim},
          {"init_channel", c.init_channel},
          {"num_samples", c.num_samples},
          {"res_kernel_size", c.res_kernel_size},
          {"default_kernel_size", c.default_kernel_size},
          {"delay_kernel_size", c.delay_kernel_size},
          {"causal", c.causal},
          {"sample_rate", c.sample_rate}};
}

json::object gen_config_json(const GenConfig& g) {
  return {{"text_bos_id", g.text_bos_id},
          {"text_eos_id", g.text_eos_id},
          {"audio_eos_id", g.audio_eos_id},
          {"empty_id", g.empty_id}};
}

const std::map<std::string, std::string> kMetadata{{"format", "pt"}, {"heartstream", "demo model: random weights"}};

void create_folder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder '" + dir.string() + "': " + ec.message());
}

std::string size_text(std::uint64_t bytes) {
  constexpr double kMegabyte = 1e6;
  char text[32];
  if (bytes >= kProgressBytes)
    std::snprintf(text, sizeof(text), "%.1f GB", static_cast<double>(bytes) / kProgressBytes);
  else
    std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(bytes) / kMegabyte);
  return text;
}

// Writes the tensors `make` hands its sink (in `shapes` order, all of `dtype`) to `path` as they
// come, reporting each GB and the finished file.
void write_streamed(const fs::path& path, const std::vector<std::pair<std::string, Shape>>& shapes, DType dtype,
                    const std::function<void(const TensorSink&)>& make, const DemoProgress& progress) {
  std::vector<TensorSpec> specs;
  std::uint64_t total = 0;
  for (const auto& [name, shape] : shapes) {
    specs.push_back({name, dtype, shape});
    total += static_cast<std::uint64_t>(shape_numel(shape)) * dtype_size(dtype);
  }
  SafetensorsWriter writer(path, std::move(specs), kMetadata);
  std::uint64_t written = 0;
  make([&](const std::string&, const Tensor& tensor) {
    writer.append(tensor);
    const std::uint64_t before = written;
    written += tensor.bytes();
    if (progress && written / kProgressBytes > before / kProgressBytes)
      progress("  " + path.string() + ": " + size_text(written) + " of " + size_text(total));
  });
  writer.commit();
  if (progress) progress("wrote " + path.string() + " (" + size_text(total) + ")");
}

// Overwrites the F32 scalar tensor `name` of the safetensors file at `path` in place.
void overwrite_f32_scalar(const fs::path& path, const std::string& name, float value) {
  std::uint64_t data_offset = 0;
  {
    const SafetensorsFile file = SafetensorsFile::open(path);
    const TensorInfo& info = file.info(name);
    if (info.dtype != DType::F32 || info.end - info.begin != sizeof(float))
      throw Error("'" + path.string() + "': tensor '" + name + "' is not an F32 scalar");
    data_offset = info.begin;
  }
  std::fstream io(path, std::ios::binary | std::ios::in | std::ios::out);
  unsigned char length[sizeof(std::uint64_t)] = {};
  io.read(reinterpret_cast<char*>(length), sizeof(length));
  std::uint64_t header_bytes = 0;
  for (std::size_t i = sizeof(length); i-- > 0;) header_bytes = (header_bytes << 8) | length[i];
  io.seekp(static_cast<std::streamoff>(sizeof(length) + header_bytes + data_offset));
  io.write(reinterpret_cast<const char*>(&value), sizeof(value));  // safetensors is little-endian, as are our hosts
  io.close();
  if (!io) throw Error("cannot write '" + path.string() + "'");
}

// The codec's weights with their output gain 1, then the gain set from a decode of the written file.
void write_codec_weights(const fs::path& path, const CodecConfig& config, std::int64_t calibration_code_frames,
                         Backend& backend, std::uint64_t seed, const DemoProgress& progress) {
  write_streamed(path, codec_tensor_shapes(config), DType::F32,
                 [&](const TensorSink& sink) { random_codec_weights(config, seed, sink); }, progress);
  if (progress)
    progress("calibrating the codec's output level on " + std::to_string(calibration_code_frames) + " code frames");
  float gain = 0.0f;
  {
    const CodecModel model(backend, named_tensors(TensorStore::open(path)), config);
    gain = codec_output_gain(model, calibration_code_frames, seed);
  }
  overwrite_f32_scalar(path, codec_output_gain_name(config), gain);
}

MulaConfig released_mula_config() {
  return {std::string(kReleasedBackboneFlavor), std::string(kReleasedDecoderFlavor), kReleasedTextVocab, kAudioVocab,
          kCodebooks, kMuqDim};
}

CodecConfig released_codec_config() {
  CodecConfig c;
  c.dim = 512;
  c.codebook_size = kCodeCount;
  c.codebook_dim = 32;
  c.num_quantizers = kCodebooks;
  c.num_attention_heads = 24;
  c.attention_head_dim = 64;
  c.num_layers = 24;
  c.num_layers_2 = 6;
  c.out_channels = 256;                        // 2 stereo channels × latent_hidden_dim
  c.in_channels = 2 * c.out_channels + c.dim;  // 1024: [x | in-context | features]
  c.upsample_factors = {5, 4, 4, 4, 3};
  c.upsample_kernel_sizes = {10, 8, 8, 8, 6};
  c.latent_hidden_dim = 128;
  c.init_channel = 64;
  c.num_samples = 2;
  c.res_kernel_size = 7;
  c.default_kernel_size = 7;
  c.delay_kernel_size = 5;
  c.causal = true;
  c.sample_rate = 48000;
  return c;
}

}  // namespace

DemoShapes parse_demo_shapes(std::string_view name) {
  for (std::size_t i = 0; i < kDemoShapesNames.size(); ++i)
    if (name == kDemoShapesNames[i]) return static_cast<DemoShapes>(i);
  std::string allowed;
  for (const std::string_view n : kDemoShapesNames) allowed += (allowed.empty() ? "" : ", ") + std::string(n);
  throw InvalidArgument("unknown demo model shapes '" + std::string(name) + "' (allowed: " + allowed + ")");
}

DemoCheckpointPlan demo_checkpoint_plan(DemoShapes shapes) {
  DemoCheckpointPlan plan;
  plan.version = std::string(kDemoShapesNames[static_cast<std::size_t>(shapes)]);
  if (shapes == DemoShapes::Released3B) {
    plan.tokenizer = make_demo_tokenizer(kLlama3BosId);
    plan.mula = released_mula_config();
    plan.codec = released_codec_config();
    plan.calibration_code_frames = kReleasedCalibrationCodeFrames;
  } else {
    plan.tokenizer = make_demo_tokenizer();
    plan.mula = demo_mula_config(plan.tokenizer.vocab_size);
    plan.codec = demo_codec_config();
    plan.calibration_code_frames = kDemoCalibrationCodeFrames;
  }
  plan.gen = {plan.tokenizer.bos_id, plan.tokenizer.eos_id, kAudioEosId, kEmptyId};
  return plan;
}

void write_random_mula_folder(const fs::path& dir, const MulaConfig& config, std::int64_t code_count,
                              std::uint64_t seed, const DemoProgress& progress) {
  create_folder(dir);
  write_text(dir / kConfigFile, json::serialize(mula_config_json(config)));
  write_streamed(dir / kWeightsFile, mula_tensor_shapes(config), DType::BF16,
                 [&](const TensorSink& sink) { random_mula_weights(config, code_count, seed, sink); }, progress);
}

MulaConfig demo_mula_config(std::int64_t text_vocab_size) {
  return {std::string(kBackboneFlavor), std::string(kDecoderFlavor), text_vocab_size, kAudioVocab, kCodebooks, kMuqDim};
}

CodecConfig demo_codec_config() {
  // The released codec with golden/codec-tiny's RVQ, DiT and decoder widths (the real codebook
  // size, latent channels and upsampling, so it makes 48 kHz stereo at the real rate).
  CodecConfig c = released_codec_config();
  c.dim = 32;
  c.codebook_dim = 8;
  c.num_attention_heads = 2;
  c.attention_head_dim = 16;
  c.num_layers = 2;
  c.num_layers_2 = 1;
  c.in_channels = 2 * c.out_channels + c.dim;  // [x | in-context | features]
  c.init_channel = 4;
  return c;
}

CheckpointPaths write_demo_checkpoint(const fs::path& dir, Backend& backend, std::uint64_t seed, DemoShapes shapes,
                                      const DemoProgress& progress) {
  const DemoCheckpointPlan plan = demo_checkpoint_plan(shapes);
  const fs::path mula_dir = dir / ("HeartMuLa-oss-" + plan.version);
  const fs::path codec_dir = dir / "HeartCodec-oss";
  create_folder(codec_dir);
  write_random_mula_folder(mula_dir, plan.mula, plan.codec.codebook_size, seed, progress);
  write_text(dir / "tokenizer.json", plan.tokenizer.json);
  write_text(dir / "gen_config.json", json::serialize(gen_config_json(plan.gen)));
  write_text(codec_dir / kConfigFile, json::serialize(codec_config_json(plan.codec)));
  write_codec_weights(codec_dir / kWeightsFile, plan.codec, plan.calibration_code_frames, backend,
                      seed + kCodecSeedOffset, progress);
  return resolve_checkpoint(dir, plan.version);
}

}  // namespace hs
