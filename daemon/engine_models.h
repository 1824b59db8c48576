// Everything a song needs that is shared and immutable: the backends, the tokenizer, the LM and the
// codec, loaded once from the configured checkpoint. Owned by the engine worker; only its thread
// runs them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/config.h"
#include "engine/backends/backend_factory.h"
#include "engine/io/config.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/lm/mula_model.h"
#include "engine/text/tokenizer.h"

namespace hs::daemon {

// Positions per block of an engine worker's KV pool (engine/model/lm/mula_batch.h).
inline constexpr std::int64_t kKvBlockSize = 16;

struct EngineModels {
  ModelBackends backends;  // declared first: the models refer to them (LM: model.device; codec: model.codec_device)
  GenConfig gen;
  Tokenizer tokenizer;
  std::shared_ptr<const MulaModel> mula;    // on backends.lm
  std::unique_ptr<const CodecModel> codec;  // on backends.codec; songs hand it frames as host data
  std::string description;  // "HeartMuLa-oss-3B on cuda (fp8) + HeartCodec-oss on cpu (fp32)", for /v1/info and the log
};

// model.device, model.precision, model.codec_device and model.codec_precision as a backend choice
// that this build and machine can run; ConfigError naming the key otherwise (cuda without the CUDA
// backend or without that GPU, bf16 / fp8 on cpu). `device_key` names model.device in messages
// (model.devices when the device came from there). `--check-config` runs it too.
BackendChoice checked_backend_choice(const ModelConfig& config, std::string_view device_key = "model.device");

// model.vram_budget_gb: the device-memory plan (engine/pipeline/vram_plan.h) for server.max_sessions
// songs of generation.max_audio_length_ms, keeping what the file fixes (model.precision other than
// fp32, which also fixes the codec's on the GPU, model.codec_device and model.codec_precision when
// set, model.kv_cache other than auto), logged; returns the configuration with the plan written into
// model.*, server.max_sessions lowered to the songs the budget holds when it holds fewer (at least
// one), and, for a budget the file names, unless model.kv_cache_gb is set, the KV pool given what
// the plan leaves. Unset: on cuda the GPU's free memory, with the KV pool the worker sizes without a
// plan (max_sessions songs, and one of generation.max_audio_length_ms_limit) within what the plan
// leaves; on cpu, or "off": `config`. `workers_on_gpu` engine workers share the GPU's free
// memory. ConfigError when not one song fits (naming the smallest budget that would) or a budget is
// named for a device that is not cuda.
DaemonConfig with_vram_plan(const DaemonConfig& config, int workers_on_gpu = 1);

// with_vram_plan's plan for `choice` (model.* parsed, its device not checked), the checkpoint's
// configs and a budget in bytes: `fill_kv` gives the KV pool all the plan leaves, else the pool
// the worker sizes without a plan, within what the plan leaves.
DaemonConfig plan_daemon_vram(const DaemonConfig& config, const BackendChoice& choice, const MulaConfig& mula,
                              const CodecConfig& codec, std::size_t budget_bytes, bool fill_kv, bool fp8_widened);

// Loads the checkpoint `config.path` / `config.version`: the LM on `config.device` at
// `config.precision`, the codec on its own backend as checked_backend_choice says. Throws ConfigError
// for a device or precision that cannot run here, FormatError for a bad checkpoint.
EngineModels load_engine_models(const ModelConfig& config);

}  // namespace hs::daemon
