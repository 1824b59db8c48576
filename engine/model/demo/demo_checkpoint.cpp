#include "engine/model/demo/demo_checkpoint.h"

#include <fstream>
#include <map>
#include <string>

#include <boost/json.hpp>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
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
constexpr std::int64_t kCodebooks = 8;
constexpr std::int64_t kMuqDim = 512;
constexpr std::string_view kWeightsFile = "model.safetensors";
constexpr std::string_view kConfigFile = "config.json";
constexpr std::uint64_t kCodecSeedOffset = 1;    // the codec draws its own stream

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

}  // namespace

void write_random_mula_folder(const fs::path& dir, const MulaConfig& config, std::int64_t code_count,
                              std::uint64_t seed) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder '" + dir.string() + "': " + ec.message());
  write_text(dir / kConfigFile, json::serialize(mula_config_json(config)));
  write_safetensors(dir / kWeightsFile, random_mula_weights(config, code_count, seed), kMetadata);
}

MulaConfig demo_mula_config(std::int64_t text_vocab_size) {
  return {std::string(kBackboneFlavor), std::string(kDecoderFlavor), text_vocab_size, kAudioVocab, kCodebooks, kMuqDim};
}

CodecConfig demo_codec_config() {
  CodecConfig c;
  c.dim = 32;  // the sizes of golden/codec-tiny, with the real codebook size
  c.codebook_size = kCodeCount;
  c.codebook_dim = 8;
  c.num_quantizers = kCodebooks;
  c.num_attention_heads = 2;
  c.attention_head_dim = 16;
  c.num_layers = 2;
  c.num_layers_2 = 1;
  c.out_channels = 256;                        // 2 stereo channels × latent_hidden_dim
  c.in_channels = 2 * c.out_channels + c.dim;  // [x | in-context | features]
  c.upsample_factors = {5, 4, 4, 4, 3};        // × num_samples 2 → 1920 samples per latent frame
  c.upsample_kernel_sizes = {10, 8, 8, 8, 6};
  c.latent_hidden_dim = 128;
  c.init_channel = 4;
  c.num_samples = 2;
  c.res_kernel_size = 7;
  c.default_kernel_size = 7;
  c.delay_kernel_size = 5;
  c.causal = true;
  c.sample_rate = 48000;
  return c;
}

CheckpointPaths write_demo_checkpoint(const fs::path& dir, Backend& backend, std::uint64_t seed) {
  const DemoTokenizer tokenizer = make_demo_tokenizer();
  const MulaConfig mula = demo_mula_config(tokenizer.vocab_size);
  const CodecConfig codec = demo_codec_config();
  const GenConfig gen{tokenizer.bos_id, tokenizer.eos_id, kAudioEosId, 0};

  const fs::path mula_dir = dir / ("HeartMuLa-oss-" + std::string(kDemoVersion));
  const fs::path codec_dir = dir / "HeartCodec-oss";
  std::error_code ec;
  fs::create_directories(codec_dir, ec);
  if (ec) throw Error("cannot create folder '" + codec_dir.string() + "': " + ec.message());
  write_random_mula_folder(mula_dir, mula, codec.codebook_size, seed);
  write_text(dir / "tokenizer.json", tokenizer.json);
  write_text(dir / "gen_config.json", json::serialize(gen_config_json(gen)));
  write_text(codec_dir / kConfigFile, json::serialize(codec_config_json(codec)));
  write_safetensors(codec_dir / kWeightsFile, random_codec_weights(backend, codec, seed + kCodecSeedOffset), kMetadata);
  return resolve_checkpoint(dir, std::string(kDemoVersion));
}

}  // namespace hs
