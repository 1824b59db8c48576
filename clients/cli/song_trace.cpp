#include "clients/cli/song_trace.h"

#include <exception>
#include <span>
#include <utility>

#include <opus/opus.h>

#include <boost/json.hpp>

namespace hs::cli {

namespace json = boost::json;

namespace {

constexpr opus_int32 kSampleRateHz = 48000;

// Keeps the first failure: later ones follow from it.
void fail(SongTrace& t, std::string kind, std::string message) {
  if (!t.error_kind.empty()) return;
  t.error_kind = std::move(kind);
  t.error = std::move(message);
}

}  // namespace

std::int64_t opus_packets_for(std::int64_t pre_skip, std::int64_t audio_ms) {
  return (pre_skip + audio_ms * kSamplesPerMs + kOpusPacketSamples - 1) / kOpusPacketSamples;
}

void trace_started(SongTrace& t, const json::object& started, SongClock::time_point at) {
  t.started = true;
  t.started_at = at;
  t.pre_skip = started.at("pre_skip").to_number<std::int64_t>();
  t.seed = started.at("seed").to_number<std::uint64_t>();
}

void trace_packet(SongTrace& t, std::span<const std::uint8_t> packet, SongClock::time_point at) {
  const std::string which = "packet " + std::to_string(t.packets.size());
  t.packets.push_back(at);
  if (!t.started) fail(t, "packet_order", which + " arrived before `started`");
  const int samples = opus_packet_get_nb_samples(packet.data(), static_cast<opus_int32>(packet.size()), kSampleRateHz);
  if (samples != kOpusPacketSamples)
    fail(t, "packet_duration", which + " holds " + std::to_string(samples) + " samples per channel, not " +
                                   std::to_string(kOpusPacketSamples) + " (20 ms)");
}

void trace_end(SongTrace& t, const json::object& end, SongClock::time_point at) {
  t.ended = at;
  if (end.at("type") == "error") {
    fail(t, "error:" + std::string(end.at("code").as_string()), std::string(end.at("message").as_string()));
    return;
  }
  t.reason = end.at("reason").as_string();
  t.audio_ms = end.at("audio_ms").to_number<std::int64_t>();
  t.daemon_ttfa_ms = end.at("ttfa_ms").to_number<double>();
  t.daemon_rtf = end.at("rtf").to_number<double>();
  const std::int64_t expected = opus_packets_for(t.pre_skip, t.audio_ms);
  const auto got = static_cast<std::int64_t>(t.packets.size());
  if (t.reason != "eos" && t.reason != "length") {
    fail(t, "reason:" + t.reason, "the song ended with reason " + t.reason);
  } else if (got != expected) {
    fail(t, "packet_count", std::to_string(got) + " packets for " + std::to_string(t.audio_ms) +
                                " ms of audio (pre_skip " + std::to_string(t.pre_skip) + "): expected " +
                                std::to_string(expected));
  }
}

SongTrace trace_song(const StreamUrl& url, const std::string& token, const json::object& generate) {
  SongTrace t;
  StreamHandlers handlers{
      .on_started = [&t](const json::object& m) { trace_started(t, m, SongClock::now()); },
      .on_packet = [&t](std::span<const std::uint8_t> packet) { trace_packet(t, packet, SongClock::now()); },
      .on_queued =
          [&t](const json::object& m) {
            t.queued.push_back({SongClock::now(), m.at("position").to_number<std::int64_t>()});
          },
      .on_generate_sent = [&t] { t.sent = SongClock::now(); }};
  try {
    const json::object end = stream_song(url, token, generate, handlers);
    trace_end(t, end, SongClock::now());
  } catch (const std::exception& e) {
    t.ended = SongClock::now();
    fail(t, "connection", e.what());
  }
  return t;
}

}  // namespace hs::cli
