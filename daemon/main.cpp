// heartstreamd: loads the model once and serves songs over HTTP + WebSocket (DESIGN.md "Serving").
//   heartstreamd --config etc/heartstream.yaml
//   heartstreamd --model_path ckpt --version 3B --port 8080
//   heartstreamd --check-config --config etc/heartstream.yaml
//   heartstreamd --play --model_path ckpt --tags piano --lyrics '[verse] la' (one song, local speakers)
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "daemon/config.h"
#include "daemon/engine_pool.h"
#include "daemon/metrics.h"
#include "daemon/play_mode.h"
#include "daemon/server.h"
#include "engine/io/checkpoint.h"

namespace {

using hs::daemon::ConfigOverrides;
using hs::daemon::DaemonConfig;

struct Options {
  std::optional<std::string> config_file;
  bool check_config = false;
  bool play = false;
  hs::daemon::PlayFlags song;
  ConfigOverrides overrides;
};

// --model_path etc.: each flag that was given overrides its key.
void add_override(CLI::App& app, Options& o, const std::string& flag, const std::string& key, const std::string& help) {
  app.add_option_function<std::string>(flag, [&o, key](const std::string& v) { o.overrides[key] = v; }, help);
}

int check_config(const DaemonConfig& config, const std::string& source) {
  hs::daemon::worker_configs(config);  // every worker's devices checked; with a budget its plan logged (or what fits)
  if (!config.model.path.empty()) hs::resolve_checkpoint(config.model.path, config.model.version, /*need_codec=*/true);
  std::printf("heartstreamd: %s: configuration OK%s\n", source.c_str(),
              config.model.path.empty() ? " (model.path is not set: serving needs it)" : "");
  return 0;
}

int serve(const DaemonConfig& file_config) {
  spdlog::set_level(spdlog::level::from_str(file_config.logging.level));
  hs::daemon::Metrics metrics;
  hs::daemon::EnginePool engines(file_config, metrics);
  hs::daemon::Server server(engines.config(), engines, metrics);
  server.stop_on_signals();
  server.start();
  std::printf("heartstreamd: listening on %s — open it in a browser\n", server.url().c_str());
  std::fflush(stdout);
  server.wait();
  spdlog::info("heartstreamd: stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"heartstreamd: real-time music generation daemon (HTTP + WebSocket)"};
  Options o;
  app.add_option("--config", o.config_file, "YAML configuration file (etc/heartstream.yaml documents every key)");
  app.add_flag("--check-config", o.check_config, "Validate the configuration (and the checkpoint paths), then exit 0/1");
  add_override(app, o, "--model_path", "model.path", "Checkpoint folder (overrides model.path)");
  add_override(app, o, "--version", "model.version", "Model version: HeartMuLa-oss-<version> (overrides model.version)");
  add_override(app, o, "--device", "model.device",
               "cpu | cuda | cuda:N: where the LM runs, and the codec unless --codec_device (overrides model.device)");
  add_override(app, o, "--devices", "model.devices",
               "all | DEVICE,DEVICE,...: one engine worker with its own models per device (overrides model.devices)");
  add_override(app, o, "--precision", "model.precision",
               "fp32 | bf16 | fp8 | nf4 | int4: the LM's weights, and the codec's unless --codec_precision (not "
               "4-bit: the codec then takes fp8); all but fp32 need cuda (overrides model.precision)");
  add_override(app, o, "--codec_device", "model.codec_device",
               "cpu | cuda | cuda:N: where HeartCodec runs (default: the LM's device; overrides model.codec_device)");
  add_override(app, o, "--codec_precision", "model.codec_precision",
               "fp32 | bf16 | fp8: HeartCodec's weights (overrides model.codec_precision)");
  add_override(app, o, "--kv_cache", "model.kv_cache",
               "auto | fp8: how the songs' shared KV cache stores keys and values (overrides model.kv_cache)");
  add_override(app, o, "--vram_budget_gb", "model.vram_budget_gb",
               "GB of device memory for both models, 'free' (the GPU's free memory; the default on cuda) or 'off': "
               "plans precisions, codec placement, KV cache and songs at once within it (overrides "
               "model.vram_budget_gb; docs/vram.md)");
  add_override(app, o, "--bind", "server.bind", "Address to listen on (overrides server.bind)");
  add_override(app, o, "--port", "server.port", "TCP port, 0 for any free one (overrides server.port)");
  auto* play = app.add_flag("--play", o.play, "Generate one song, play it on the local speakers (PortAudio), exit");
  auto* tags = app.add_option("--tags", o.song.tags, "--play: comma-separated style tags")->needs(play);
  auto* lyrics = app.add_option("--lyrics", o.song.lyrics, "--play: lyrics with [section] markers")->needs(play);
  play->needs(tags, lyrics);
  app.add_option("--max_audio_length_ms", o.song.max_audio_length_ms, "--play: song length limit")->needs(play);
  app.add_option("--topk", o.song.topk, "--play: sampler top-k")->needs(play);
  app.add_option("--temperature", o.song.temperature, "--play: sampler temperature")->needs(play);
  app.add_option("--cfg_scale", o.song.cfg_scale, "--play: classifier-free guidance scale")->needs(play);
  app.add_option("--seed", o.song.seed, "--play: seed (random when absent)")->needs(play);
  add_override(app, o, "--portaudio_device", "outputs.portaudio_device",
               "--play: output device name (or part of it) or index (overrides outputs.portaudio_device)");
  CLI11_PARSE(app, argc, argv);
  const std::string source = o.config_file.value_or("defaults");
  try {
    const DaemonConfig config = hs::daemon::load_config(o.config_file, hs::daemon::process_environment(), o.overrides);
    if (o.check_config) return check_config(config, source);
    if (o.play) return hs::daemon::play_one_song(config, hs::daemon::play_params(o.song, config.generation));
    return serve(config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heartstreamd: %s\n", e.what());
    return 1;
  }
}
