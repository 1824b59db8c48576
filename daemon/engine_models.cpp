#include "daemon/engine_models.h"

#include <spdlog/spdlog.h>

#include <algorithm>
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

DaemonConfig plan_daemon_vram(const DaemonConfig& config, const BackendChoice& choice, const MulaConfig& mula,
                              const CodecConfig& codec, std::size_t budget_bytes, bool fill_kv, bool fp8_widened) {
  const ModelConfig& model = config.model;
  const std::int64_t sessions = config.server.max_sessions;
  VramRequest request{.budget_bytes = budget_bytes, .song_ms = config.generation.max_audio_length_ms, .songs = sessions};
  request.cfg = config.generation.cfg_scale != 1.0;
  request.chunk_frames = config.streaming.chunk_frames;
  request.codec_batch = config.streaming.codec_batch;
  request.fp8_widened = fp8_widened;
  request.fewer_songs = true;
  if (model.precision != "fp32") request.precision = choice.precision;
  request.codec_device = choice.codec_device;
  request.codec_precision = choice.codec_precision;
  if (model.kv_cache != "auto") request.kv_cache = parse_kv_cache(model.kv_cache, "model.kv_cache");
  VramPlan plan;
  try {
    plan = plan_vram(mula, codec, request);
  } catch (const Error& e) {  // not one song fits, or no plan keeps the file's settings
    throw ConfigError(std::string("model.vram_budget_gb: ") + e.what());
  }
  spdlog::info("{}", describe(plan));
  DaemonConfig out = config;
  if (plan.songs < sessions) {
    spdlog::warn("server.max_sessions {} -> {}: the device memory budget holds {} song{} of {} s at once", sessions,
                 plan.songs, plan.songs, plan.songs == 1 ? "" : "s", plan.song_ms / 1000);
    out.server.max_sessions = static_cast<int>(plan.songs);
  }
  out.model.precision = precision_name(plan.precision);
  // The plan names the codec's device, not the GPU: on cuda the one the file named, else the LM's.
  out.model.codec_device = device_label(plan.codec_device, choice.codec_device_index_or_default());
  out.model.codec_precision = std::string(precision_name(plan.codec_precision));
  out.model.kv_cache = kv_cache_name(plan.kv_cache);
  out.model.vram_budget_bytes = budget_bytes;
  if (out.model.kv_cache_gb == 0) {
    const auto songs = static_cast<std::size_t>(plan.songs);
    std::size_t pool = plan.budget_bytes - plan.needs.besides_kv(plan.songs);
    if (!fill_kv) {
      // The worker's own pool (engine_worker.cpp): every slot's song, and one of the longest length
      // a request may ask for, each rounded up to whole blocks; within what the plan leaves.
      request.song_ms = config.generation.max_audio_length_ms_limit;
      const std::size_t longest =
          vram_needs(mula, codec, request, plan.precision, plan.codec_precision, plan.codec_device, plan.kv_cache).song_kv;
      const std::size_t rounding = (songs + 1) * kKvBlockSize * plan.needs.kv_per_frame;
      pool = std::min(pool, std::max(songs * plan.needs.song_kv, longest) + rounding);
    }
    out.model.kv_cache_gb = static_cast<double>(pool) / 1e9;
  }
  return out;
}

DaemonConfig with_vram_plan(const DaemonConfig& config, int workers_on_gpu) {
  const ModelConfig& model = config.model;
  const std::string& budget = model.vram_budget_gb;
  if (budget == kOff) return config;
  const BackendChoice choice = checked_backend_choice(model);
  if (choice.device != Device::Cuda) {
    if (budget.empty()) return config;
    throw ConfigError("model.vram_budget_gb plans device memory: it needs model.device cuda");
  }
  if (model.path.empty())
    throw ConfigError("model.path: required (set it in the file, with --model_path or HEARTSTREAM_MODEL_PATH)");
  const CheckpointPaths paths = resolve_checkpoint(model.path, model.version, /*need_codec=*/true);
  const std::size_t bytes = budget.empty() || budget == "free"
                                ? cuda_free_bytes(choice.device_index) / static_cast<std::size_t>(workers_on_gpu)
                                : parse_vram_budget_gb(std::stod(budget), "model.vram_budget_gb");
  if (budget.empty())
    spdlog::info("model.vram_budget_gb unset: planning within {}'s free memory ({:.2f} GB{}; off: no plan)",
                 device_label(Device::Cuda, choice.device_index), static_cast<double>(bytes) / 1e9,
                 workers_on_gpu > 1 ? ", its share of " + std::to_string(workers_on_gpu) + " workers" : "");
  return plan_daemon_vram(config, choice, read_mula_config(paths.mula_dir / "config.json"),
                          read_codec_config(paths.codec_dir / "config.json"), bytes, !budget.empty(),
                          cuda_fp8_widened(choice.device_index));
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
