// `heartstream quantize`: writes the fp8 weight caches of a checkpoint's two models ahead of the
// first fp8 load (the loader's own code: MulaModel::load / CodecModel::load through
// Fp8CachedLinears), with --keep patterns whose linears stay bf16, and quantization_config.json
// beside them (quantization_config.h). A second run with the same checkpoint and patterns finds
// both caches valid, rewrites nothing and says "up to date".
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "clients/cli/commands.h"
#include "clients/cli/json_file.h"
#include "clients/cli/quantization_config.h"
#include "engine/backends/backend_factory.h"
#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/checkpoint.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/lm/mula_model.h"

namespace hs::cli {
namespace {

inline constexpr std::string_view kQuantizationConfigName = "quantization_config.json";

struct QuantizeOptions {
  std::string model_path;           // folder with HeartMuLa-oss-<version>/ and HeartCodec-oss/
  std::string version = "3B";       // HeartMuLa-oss-<version>
  std::string precision = "fp8";    // the only quantized format
  std::vector<std::string> keep;    // glob patterns of linears that stay bf16 (both models)
};

constexpr double kMb = 1e6;

// One line per model: the cache, what happened to it, its linears.
void print_outcome(const QuantizedModel& m, const std::filesystem::path& root) {
  const WeightCacheReport& r = m.cache;
  std::int64_t kept = 0;
  for (const LinearRecord& l : r.linears) kept += l.kept_because.empty() ? 0 : 1;
  const char* what = r.outcome == WeightCacheOutcome::Hit ? "up to date" : "written";
  std::printf("%s: %s %s (%zu linears: %lld fp8, %lld kept bf16; %.1f MB)\n", m.name.c_str(),
              r.path.lexically_relative(root).generic_string().c_str(), what, r.linears.size(),
              static_cast<long long>(static_cast<std::int64_t>(r.linears.size()) - kept),
              static_cast<long long>(kept), static_cast<double>(r.file_bytes) / kMb);
}

void run_quantize(const QuantizeOptions& o) {
  if (parse_precision(o.precision, "--precision") != Precision::FP8)
    throw InvalidArgument("--precision '" + o.precision +
                          "': quantize writes fp8 caches only (bf16 and fp32 are converted at load, with no cache)");
  if (!weight_cache_allowed_by_environment())
    throw InvalidArgument(std::string(kWeightCacheEnvVar) + "=0 switches the weight cache off: unset it to quantize");
  for (const std::string& pattern : o.keep)
    if (pattern.empty() || pattern.find_first_of("\r\n") != std::string::npos)
      throw InvalidArgument("--keep '" + pattern + "': a pattern must be one non-empty line");
  const CheckpointPaths paths = resolve_checkpoint(o.model_path, o.version, true);
  // The CPU backend holds fp8 weights dequantized (fp32): quantization itself is the host's
  // (quantize_e4m3_rows), the same bytes whichever device loads the cache later.
  CpuBackend backend;
  std::vector<QuantizedModel> models(2);
  MulaLoadReport lm;
  MulaModel::load(backend, paths.mula_dir, Precision::FP8, {.keep_bf16 = o.keep}, &lm);
  models[0] = {"language_model", paths.mula_dir, std::move(lm.cache)};
  CodecLoadReport codec;
  CodecModel::load(backend, paths.codec_dir, Precision::FP8, {.keep_bf16 = o.keep}, &codec);
  models[1] = {"codec", paths.codec_dir, std::move(codec.cache)};
  for (const QuantizedModel& m : models)
    if (m.cache.outcome != WeightCacheOutcome::Hit && m.cache.outcome != WeightCacheOutcome::Written)
      throw InvalidArgument(m.name + ": fp8 weight cache '" + m.cache.path.string() + "' not written (" +
                            m.cache.write_error + ")");
  const std::filesystem::path root(o.model_path);
  for (const QuantizedModel& m : models) print_outcome(m, root);
  if (const auto unmatched = unmatched_keep_patterns(models); !unmatched.empty())
    throw InvalidArgument("--keep '" + unmatched.front() + "' matches no linear of either model (names look like " +
                          "'backbone.layers.0.attn.qkv_proj.weight' or 'codebook0_head.weight'; " +
                          std::string(kQuantizationConfigName) + " of a run without it lists them all)");
  const std::filesystem::path config_path = root / kQuantizationConfigName;
  const bool wrote = write_json_file(config_path, quantization_config(models, root));
  std::printf("%s %s\n", config_path.string().c_str(), wrote ? "written" : "up to date");
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto opt = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Write the fp8 weight caches of the language model and the codec ahead of time, and "
                  "quantization_config.json beside them");
  cmd->add_option("--model_path", opt->model_path, "Checkpoint folder (HeartMuLa-oss-<version>/, HeartCodec-oss/)")
      ->required();
  cmd->add_option("--version", opt->version, "Model version: the folder HeartMuLa-oss-<version>")->capture_default_str();
  cmd->add_option("--precision", opt->precision, "Weight format of the caches: fp8 (E4M3, one scale per output channel)")
      ->capture_default_str();
  cmd->add_option("--keep", opt->keep,
                  "Keep the linears whose names match this glob (fnmatch; '*' also matches '.') in bf16, in both "
                  "models; repeatable. Later fp8 loads of the checkpoint honour the list the caches were built with");
  cmd->callback([opt] { run_quantize(*opt); });
}

}  // namespace hs::cli
