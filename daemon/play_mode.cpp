#include "daemon/play_mode.h"

#include <csignal>
#include <cstdio>
#include <memory>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "daemon/audio/pcm.h"
#include "daemon/engine_models.h"
#include "daemon/engine_worker.h"
#include "daemon/local_player.h"
#include "daemon/metrics.h"
#include "daemon/portaudio_sink.h"

namespace hs::daemon {

namespace net = boost::asio;
namespace json = boost::json;

SongParams play_params(const PlayFlags& flags, const GenerationConfig& generation) {
  json::object body{{"tags", flags.tags}, {"lyrics", flags.lyrics}};
  if (flags.max_audio_length_ms) body["max_audio_length_ms"] = *flags.max_audio_length_ms;
  if (flags.topk) body["topk"] = *flags.topk;
  if (flags.temperature) body["temperature"] = *flags.temperature;
  if (flags.cfg_scale) body["cfg_scale"] = *flags.cfg_scale;
  if (flags.seed) body["seed"] = *flags.seed;
  return parse_generate_body(json::serialize(body), generation);
}

int play_one_song(const DaemonConfig& config, const SongParams& params) {
  spdlog::set_level(spdlog::level::from_str(config.logging.level));
  // The device first: a wrong name fails before a long model load.
  PortAudioSink sink(config.outputs.portaudio_device);
  std::printf("heartstreamd: playing on %d \"%s\" (%s)\n", sink.device().index, sink.device().name.c_str(),
              sink.device().host_api.c_str());
  std::fflush(stdout);
  Metrics metrics;
  DaemonConfig one_song = config;
  one_song.server.max_sessions = 1;  // planned for, and run as, one song
  const DaemonConfig planned = with_vram_plan(one_song);
  WorkerOptions options = worker_options(planned);  // with the plan's KV cache
  options.prefill_per_round = 0;                    // nothing else runs: the whole prompt at once
  EngineWorker worker(load_engine_models(planned.model), options, metrics);
  spdlog::info("loaded {}", worker.model_description());

  net::io_context ioc;
  auto work = net::make_work_guard(ioc);  // ioc.run() returns once the player has finished
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  std::optional<PlayResult> result;
  PlayerCallbacks callbacks{
      .on_first_audio =
          [](double ttfa_ms) {
            std::printf("heartstreamd: time to first audio %.1f ms\n", ttfa_ms);
            std::fflush(stdout);
          },
      .on_finished =
          [&](const PlayResult& r) {
            net::post(ioc, [&, r] {
              result = r;
              signals.cancel();
              work.reset();
            });
          }};
  // The queue holds the configured look-ahead of audio, the same bound as the song's pacing.
  const auto queue_frames = static_cast<std::int64_t>(config.streaming.lookahead_s * kSampleRateHz);
  auto player = std::make_shared<LocalPlayer>(sink, queue_frames, std::move(callbacks));
  const std::shared_ptr<SongHandle> handle = worker.submit(params, Container::Pcm, player);
  HS_CHECK(handle != nullptr, "a fresh engine worker refused the song");
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    std::printf("heartstreamd: stopping the song\n");
    std::fflush(stdout);
    handle->cancel();
    signals.clear();  // the default action again: a second signal ends the process
  });
  ioc.run();
  handle->cancel();  // a failed sink leaves the song running: end it with the worker

  if (!result->done) {
    std::fprintf(stderr, "heartstreamd: %s\n", result->error.c_str());
    return 1;
  }
  const DoneInfo& done = *result->done;
  std::printf("heartstreamd: played %.2f s (%.*s); time to first audio %.1f ms, rtf %.3f\n",
              static_cast<double>(done.audio_ms) / 1000.0, static_cast<int>(done.reason.size()), done.reason.data(),
              done.ttfa_ms, done.rtf);
  return 0;
}

}  // namespace hs::daemon
