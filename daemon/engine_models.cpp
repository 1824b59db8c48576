#include "daemon/engine_models.h"

#include <spdlog/spdlog.h>

#include <string>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/pipeline/vram_plan.h"

namespace hs::daemon {
namespace {

constexpr BackendOptionNames kKeys{.device = "model.device", .precision = "model.precision",
                                   .codec_device = "model.codec_device", .codec_precision = "model.codec_precision"};

}  // namespace

BackendChoice checked_backend_choice(const ModelConfig& config, std::string_view device_key) {
  BackendOptionNames keys = kKeys;
  keys.device = device_key;
  try {
    BackendChoice choice;
    choice.set_device(parse_device(config.device, keys.device));
    choice.precision = parse_precision(config.precision, keys.precision);
    if (config.codec_device) choice.set_codec_device(parse_device(*config.codec_device, keys.codec_device));
    if (config.codec_precision) choice.codec_precision = parse_precision(*config.codec_precision, keys.codec_precision);
    check_backend_choice(choice, keys);
    return choice;
  } catch (const InvalidArgument& e) {
    throw ConfigError(e.what());  // the engine's message already starts with the key
  }
}

DaemonConfig with_vram_plan(const DaemonConfig& config) {
  const ModelConfig& model = config.model;
  if (model.vram_budget_gb.empty()) return config;
  const BackendChoice choice = checked_backend_choice(model);
  if (choice.device != Device::Cuda)
    throw ConfigError("model.vram_budget_gb plans device memory: it needs model.device cuda");
  if (model.path.empty())
    throw ConfigError("model.path: required (set it in the file, with --model_path or HEARTSTREAM_MODEL_PATH)");
  const CheckpointPaths paths = resolve_checkpoint(model.path, model.version, /*need_codec=*/true);
  VramRequest request{
      .budget_bytes = model.vram_budget_gb == "free"
                          ? cuda_free_bytes(choice.device_index)
                          : parse_vram_budget_gb(std::stod(model.vram_budget_gb), "model.vram_budget_gb"),
      .song_ms = config.generation.max_audio_length_ms,
      .songs = config.server.max_sessions};
  request.cfg = config.generation.cfg_scale != 1.0;
  request.fp8_widened = cuda_fp8_widened(choice.device_index);
  if (model.precision != "fp32") request.precision = choice.precision;
  request.codec_device = choice.codec_device;
  request.codec_precision = choice.codec_precision;
  if (model.kv_cache != "auto") request.kv_cache = parse_kv_cache(model.kv_cache, "model.kv_cache");
  VramPlan plan;
  try {
    plan = plan_vram(read_mula_config(paths.mula_dir / "config.json"), read_codec_config(paths.codec_dir / "config.json"),
                     request);
  } catch (const Error& e) {  // nothing fits, or no plan keeps the file's settings
    throw ConfigError(std::string("model.vram_budget_gb: ") + e.what());
  }
  spdlog::info("{}", describe(plan));
  DaemonConfig out = config;
  out.model.precision = precision_name(plan.precision);
  // The plan names the codec's device, not the GPU: on cuda the one the file named, else the LM's.
  out.model.codec_device = device_label(plan.codec_device, choice.codec_device_index_or_default());
  out.model.codec_precision = std::string(precision_name(plan.codec_precision));
  out.model.kv_cache = kv_cache_name(plan.kv_cache);
  out.model.vram_budget_bytes = request.budget_bytes;
  if (out.model.kv_cache_gb == 0) {
    const std::size_t kv_room = plan.budget_bytes - plan.needs.lm_weights - plan.needs.codec_weights - plan.needs.fixed -
                                static_cast<std::size_t>(plan.songs) * (plan.needs.per_song - plan.needs.song_kv);
    out.model.kv_cache_gb = static_cast<double>(kv_room) / 1e9;
  }
  return out;
}

EngineModels load_engine_models(const ModelConfig& config) {
  if (config.path.empty())
    throw ConfigError("model.path: required (set it in the file, with --model_path or HEARTSTREAM_MODEL_PATH)");
  BackendChoice choice = checked_backend_choice(config);
  choice.vram_budget_bytes = config.vram_budget_bytes;
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
