// Typed readers for the checkpoint's JSON files (REFERENCE.md "Checkpoint layout"). Unknown keys
// are ignored (HuggingFace adds many); a missing or mistyped required key is a FormatError naming
// the file and the key.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hs {

// HeartMuLa-oss-*/config.json
struct MulaConfig {
  std::string backbone_flavor;          // e.g. "llama-3B"
  std::string decoder_flavor;           // e.g. "llama-300M"
  std::int64_t text_vocab_size = 0;     // 128256
  std::int64_t audio_vocab_size = 0;    // 8197
  std::int64_t audio_num_codebooks = 0; // 8
  std::int64_t muq_dim = 0;             // 512
};

// HeartCodec-oss/config.json
struct CodecConfig {
  // RVQ
  std::int64_t dim = 0;             // 512
  std::int64_t codebook_size = 0;   // 8192
  std::int64_t codebook_dim = 0;    // 32
  std::int64_t num_quantizers = 0;  // 8
  // DiT estimator
  std::int64_t num_attention_heads = 0;  // 24
  std::int64_t attention_head_dim = 0;   // 64
  std::int64_t num_layers = 0;           // 24
  std::int64_t num_layers_2 = 0;         // 6
  std::int64_t in_channels = 0;          // 1024
  std::int64_t out_channels = 0;         // 256
  // Scalar decoder
  std::vector<std::int64_t> upsample_factors;       // [5, 4, 4, 4, 3]
  std::vector<std::int64_t> upsample_kernel_sizes;  // [10, 8, 8, 8, 6]
  std::int64_t latent_hidden_dim = 0;  // 128
  std::int64_t init_channel = 0;       // 64
  std::int64_t num_samples = 0;        // 2
  std::int64_t res_kernel_size = 0;    // 7
  std::int64_t default_kernel_size = 0;// 7
  std::int64_t delay_kernel_size = 0;  // 5
  bool causal = true;
  std::int64_t sample_rate = 48000;    // optional key, 48000 when absent
};

// gen_config.json
struct GenConfig {
  std::int32_t text_bos_id = 0;   // 128000
  std::int32_t text_eos_id = 0;   // 128001
  std::int32_t audio_eos_id = 0;  // 8193
  std::int32_t empty_id = 0;      // 0
};

MulaConfig read_mula_config(const std::filesystem::path& path);
CodecConfig read_codec_config(const std::filesystem::path& path);
GenConfig read_gen_config(const std::filesystem::path& path);

}  // namespace hs
