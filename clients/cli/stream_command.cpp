// `heartstream stream` and `heartstream play`: one song from a running heartstreamd over its
// WebSocket (docs/protocol.md), written to a file and/or played on the local speakers as the
// packets arrive.
//   heartstream stream --url ws://127.0.0.1:8080 --tags piano --lyrics '[verse] la' --out song.opus
//   heartstream play --url ws://127.0.0.1:8080 --tags piano --lyrics '[verse] la'
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "clients/cli/commands.h"
#include "clients/cli/stream_outputs.h"
#include "clients/cli/ws_client.h"
#include "daemon/audio/audio_file.h"
#include "daemon/portaudio_sink.h"
#include "engine/core/error.h"

namespace hs::cli {
namespace {

namespace json = boost::json;

struct StreamOptions {
  std::string url;
  std::string token;  // bearer token of a daemon with server.auth_token
  std::string tags;
  std::string lyrics;
  std::optional<std::int64_t> max_audio_length_ms;  // unset: the daemon's defaults
  std::optional<std::int64_t> topk;
  std::optional<double> temperature;
  std::optional<double> cfg_scale;
  std::optional<std::uint64_t> seed;
  std::string out;     // any audio file extension: decoded, then written by open_audio_file
  bool play = false;   // decode and play on the local PortAudio output
  std::string device;  // PortAudio device for --play: name (or part of it) or index; empty: default
};

json::object generate_message(const StreamOptions& o) {
  json::object m{{"type", "generate"}, {"tags", o.tags}, {"lyrics", o.lyrics}};
  if (o.max_audio_length_ms) m["max_audio_length_ms"] = *o.max_audio_length_ms;
  if (o.topk) m["topk"] = *o.topk;
  if (o.temperature) m["temperature"] = *o.temperature;
  if (o.cfg_scale) m["cfg_scale"] = *o.cfg_scale;
  if (o.seed) m["seed"] = *o.seed;
  return m;
}

std::vector<std::unique_ptr<PacketOutput>> open_outputs(const StreamOptions& o) {
  std::vector<std::unique_ptr<PacketOutput>> outputs;
  if (!o.out.empty())
    outputs.push_back(decoded_output(open_audio_file(o.out)));
  if (o.play) outputs.push_back(decoded_output(std::make_unique<daemon::PortAudioSink>(o.device)));
  if (outputs.empty()) throw InvalidArgument("nothing to do: give --out FILE and/or --play");
  return outputs;
}

void run_stream(const StreamOptions& o) {
  const StreamUrl url = parse_stream_url(o.url);
  std::vector<std::unique_ptr<PacketOutput>> outputs = open_outputs(o);
  StreamHandlers handlers{
      .on_started =
          [&](const json::object& started) {
            for (auto& out : outputs) out->start(static_cast<int>(started.at("pre_skip").to_number<std::int64_t>()));
            std::printf("started %s (seed %s)\n", json::serialize(started.at("id")).c_str(),
                        json::serialize(started.at("seed")).c_str());
            std::fflush(stdout);
          },
      .on_packet =
          [&](std::span<const std::uint8_t> packet) {
            for (auto& out : outputs) out->packet(packet);
          },
      .on_progress = [](const json::object&) {}};
  const json::object end = stream_song(url, o.token, generate_message(o), handlers);
  if (end.at("type") == "error")
    throw Error("the daemon refused the song: " + std::string(end.at("code").as_string()) + ": " +
                std::string(end.at("message").as_string()));
  const std::int64_t audio_ms = end.at("audio_ms").to_number<std::int64_t>();
  for (auto& out : outputs) out->finish(audio_ms);
  std::printf("done: %s, %.2f s of audio; time to first audio %.1f ms, rtf %.3f\n",
              std::string(end.at("reason").as_string()).c_str(), static_cast<double>(audio_ms) / 1000.0,
              end.at("ttfa_ms").to_number<double>(), end.at("rtf").to_number<double>());
}

void add_song_options(CLI::App* cmd, StreamOptions& o) {
  cmd->add_option("--url", o.url, "The daemon's WebSocket: ws://HOST:PORT[/v1/stream]")->required();
  cmd->add_option("--token", o.token, "Bearer token (server.auth_token)");
  cmd->add_option("--tags", o.tags, "Comma-separated style tags")->required();
  cmd->add_option("--lyrics", o.lyrics, "Lyrics with [section] markers")->required();
  cmd->add_option("--max_audio_length_ms", o.max_audio_length_ms, "Song length limit (default: the daemon's)");
  cmd->add_option("--topk", o.topk, "Sampler top-k (default: the daemon's)");
  cmd->add_option("--temperature", o.temperature, "Sampler temperature (default: the daemon's)");
  cmd->add_option("--cfg_scale", o.cfg_scale, "Classifier-free guidance scale (default: the daemon's)");
  cmd->add_option("--seed", o.seed, "Seed (default: random; the daemon reports it)");
  cmd->add_option("--device", o.device, "--play: PortAudio output device name (or part of it) or index");
}

}  // namespace

void add_stream_command(CLI::App& app) {
  auto opt = std::make_shared<StreamOptions>();
  CLI::App* cmd = app.add_subcommand("stream", "Stream one song from heartstreamd into a file and/or the speakers");
  add_song_options(cmd, *opt);
  cmd->add_option("--out", opt->out, "Audio file: .wav, .flac, .opus, .ogg, .mp3 or .safetensors (decoded, then written)");
  cmd->add_flag("--play", opt->play, "Play on the local PortAudio output as the song arrives");
  cmd->callback([opt] { run_stream(*opt); });
}

void add_play_command(CLI::App& app) {
  auto opt = std::make_shared<StreamOptions>();
  CLI::App* cmd = app.add_subcommand("play", "Play one song from heartstreamd on the local speakers (stream --play)");
  add_song_options(cmd, *opt);
  cmd->callback([opt] {
    opt->play = true;
    run_stream(*opt);
  });
}

}  // namespace hs::cli
