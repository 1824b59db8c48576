#include "daemon/engine_models.h"

#include "engine/cpu/cpu_backend.h"
#include "engine/io/checkpoint.h"

namespace hs::daemon {
namespace {

Precision parse_precision(const std::string& name) {
  if (name == "bf16") return Precision::BF16;
  if (name == "fp8") return Precision::FP8;
  return Precision::F32;
}

// The backend for `device`. Only the CPU backend exists in this build; the CUDA one plugs in here.
std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return std::make_unique<CpuBackend>();
  throw ConfigError("model.device: '" + device + "' is not available in this build (the CUDA backend is not built yet); use cpu");
}

}  // namespace

EngineModels load_engine_models(const ModelConfig& config) {
  if (config.path.empty())
    throw ConfigError("model.path: required (set it in the file, with --model_path or HEARTSTREAM_MODEL_PATH)");
  const CheckpointPaths paths = resolve_checkpoint(config.path, config.version, /*need_codec=*/true);
  EngineModels m;
  m.backend = make_backend(config.device);
  const Precision precision = parse_precision(config.precision);
  m.gen = read_gen_config(paths.gen_config);
  m.tokenizer = Tokenizer::load(paths.tokenizer);
  m.mula = MulaModel::load(*m.backend, paths.mula_dir, precision);
  m.codec = std::make_unique<const CodecModel>(CodecModel::load(*m.backend, paths.codec_dir, precision));
  m.description = "HeartMuLa-oss-" + config.version + " + HeartCodec-oss on " + config.device + " (" + config.precision + ")";
  return m;
}

}  // namespace hs::daemon
