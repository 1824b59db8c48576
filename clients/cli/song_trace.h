// One song over /v1/stream as a listener receives it, checked against docs/protocol.md: when each
// event and Opus packet arrived, and what was wrong (an error event, a failed connection, a packet
// before `started` or not of 20 ms, a `done` whose packets do not cover its audio). Shared by
// `heartstream soak` and `heartstream loadtest`.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "clients/cli/ws_client.h"

namespace hs::cli {

using SongClock = std::chrono::steady_clock;

inline constexpr std::int64_t kSamplesPerMs = 48;         // 48 kHz
inline constexpr std::int64_t kOpusPacketSamples = 960;   // 20 ms, per channel
inline constexpr std::int64_t kOpusPacketMs = kOpusPacketSamples / kSamplesPerMs;

// The packets that carry `pre_skip + audio_ms · 48` samples per channel (the last one padded).
std::int64_t opus_packets_for(std::int64_t pre_skip, std::int64_t audio_ms);

struct QueuedEvent {
  SongClock::time_point at;
  std::int64_t position = 0;
};

struct SongTrace {
  SongClock::time_point sent{};     // the `generate` written (connect + handshake come before)
  std::vector<QueuedEvent> queued;  // each {"type":"queued"} in order
  bool started = false;
  SongClock::time_point started_at{};
  std::int64_t pre_skip = 0;  // from `started`
  std::uint64_t seed = 0;     // the one the daemon used
  std::vector<SongClock::time_point> packets;  // arrival of each Opus packet
  SongClock::time_point ended{};  // `done`, `error` or the connection's failure
  std::string reason;             // the `done` reason; empty without one
  std::int64_t audio_ms = 0;      // from `done`
  double daemon_ttfa_ms = 0;      // from `done`
  double daemon_rtf = 0;          // from `done`
  std::string error_kind;         // empty: the song finished intact
  std::string error;
};

// Streams one song to its end. Never throws: a failure is the trace's error_kind
// ("error:<code>", "connection", "packet_order", "packet_duration", "reason:<reason>",
// "packet_count") and error, the first one only.
SongTrace trace_song(const StreamUrl& url, const std::string& token, const boost::json::object& generate);

// What trace_song does with each message as it arrives at `at`: `started`, an Opus packet, and the
// song's last message (`done` or `error`).
void trace_started(SongTrace& t, const boost::json::object& started, SongClock::time_point at);
void trace_packet(SongTrace& t, std::span<const std::uint8_t> packet, SongClock::time_point at);
void trace_end(SongTrace& t, const boost::json::object& end, SongClock::time_point at);

}  // namespace hs::cli
