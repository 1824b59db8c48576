#include "daemon/engine_models.h"

#include "engine/io/checkpoint.h"

namespace hs::daemon {
namespace {

constexpr BackendOptionNames kKeys{.device = "model.device", .precision = "model.precision",
                                   .codec_device = "model.codec_device", .codec_precision = "model.codec_precision"};

}  // namespace

BackendChoice checked_backend_choice(const ModelConfig& config) {
  try {
    BackendChoice choice;
    choice.device = parse_device(config.device, kKeys.device);
    choice.precision = parse_precision(config.precision, kKeys.precision);
    if (config.codec_device) choice.codec_device = parse_device(*config.codec_device, kKeys.codec_device);
    if (config.codec_precision) choice.codec_precision = parse_precision(*config.codec_precision, kKeys.codec_precision);
    check_backend_choice(choice, kKeys);
    return choice;
  } catch (const InvalidArgument& e) {
    throw ConfigError(e.what());  // the engine's message already starts with the key
  }
}

EngineModels load_engine_models(const ModelConfig& config) {
  if (config.path.empty())
    throw ConfigError("model.path: required (set it in the file, with --model_path or HEARTSTREAM_MODEL_PATH)");
  const BackendChoice choice = checked_backend_choice(config);
  const CheckpointPaths paths = resolve_checkpoint(config.path, config.version, /*need_codec=*/true);
  EngineModels m;
  m.backends = make_model_backends(choice, kKeys);
  m.gen = read_gen_config(paths.gen_config);
  m.tokenizer = Tokenizer::load(paths.tokenizer);
  m.mula = MulaModel::load(*m.backends.lm, paths.mula_dir, m.backends.lm_precision);
  m.codec = std::make_unique<const CodecModel>(
      CodecModel::load(*m.backends.codec, paths.codec_dir, m.backends.codec_precision));
  m.description = "HeartMuLa-oss-" + config.version + " on " + m.backends.lm->name() + " (" +
                  std::string(precision_name(m.backends.lm_precision)) + ") + HeartCodec-oss on " +
                  m.backends.codec->name() + " (" + std::string(precision_name(m.backends.codec_precision)) + ")";
  return m;
}

}  // namespace hs::daemon
