// The checks `heartstream soak` and `loadtest` make of each song's messages (clients/cli/
// song_trace.h), on hand-made messages: an intact song, a packet before `started`, a packet that is
// not 20 ms, one packet missing or one too many, an error event; the first failure is the one kept.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>

#include <boost/json.hpp>

#include "clients/cli/song_trace.h"

namespace hs::cli {
namespace {

namespace json = boost::json;

constexpr std::int64_t kPreSkip = 312;
constexpr std::int64_t kAudioMs = 2080;
// Opus TOC bytes (RFC 6716 3.1): config 31 = CELT fullband 20 ms; frame-count code 0 is one frame,
// code 1 two frames (40 ms).
constexpr std::array<std::uint8_t, 3> k20MsPacket{0xF8, 0, 0};
constexpr std::array<std::uint8_t, 3> k40MsPacket{0xF9, 0, 0};

const json::object kStarted{{"type", "started"}, {"pre_skip", kPreSkip}, {"seed", 5}};
json::object done(std::int64_t audio_ms, const char* reason = "length") {
  return {{"type", "done"}, {"reason", reason}, {"audio_ms", audio_ms}, {"ttfa_ms", 12.5}, {"rtf", 0.25}};
}

// A trace that got `started` and `packets` 20 ms packets, 20 ms apart.
SongTrace started_with(std::int64_t packets) {
  SongTrace t;
  const SongClock::time_point t0{};
  trace_started(t, kStarted, t0);
  for (std::int64_t k = 0; k < packets; ++k) trace_packet(t, k20MsPacket, t0 + std::chrono::milliseconds(20 * k));
  return t;
}

TEST(SongTrace, AnIntactSongHasEveryPacketItsAudioNeeds) {
  const std::int64_t packets = opus_packets_for(kPreSkip, kAudioMs);
  EXPECT_EQ(packets, 105);  // (312 + 2080·48) / 960 = 104.3, the last one padded
  SongTrace t = started_with(packets);
  trace_end(t, done(kAudioMs), SongClock::time_point{} + std::chrono::seconds(3));
  EXPECT_EQ(t.error_kind, "") << t.error;
  EXPECT_EQ(t.seed, 5u);
  EXPECT_EQ(t.reason, "length");
  EXPECT_EQ(t.daemon_ttfa_ms, 12.5);
  EXPECT_EQ(t.packets.size(), static_cast<std::size_t>(packets));
}

TEST(SongTrace, OnePacketMissingOrOneTooManyIsAPacketCountError) {
  for (const std::int64_t packets : {std::int64_t{104}, std::int64_t{106}}) {
    SongTrace t = started_with(packets);
    trace_end(t, done(kAudioMs), {});
    EXPECT_EQ(t.error_kind, "packet_count") << packets;
    EXPECT_NE(t.error.find(std::to_string(packets) + " packets for 2080 ms of audio (pre_skip 312): expected 105"),
              std::string::npos)
        << t.error;
  }
}

TEST(SongTrace, APacketBeforeStartedIsOutOfOrderAndStaysTheError) {
  SongTrace t;
  trace_packet(t, k20MsPacket, {});
  trace_started(t, kStarted, {});
  trace_end(t, done(kAudioMs), {});  // the count is off too; the first failure is kept
  EXPECT_EQ(t.error_kind, "packet_order");
  EXPECT_EQ(t.error, "packet 0 arrived before `started`");
}

TEST(SongTrace, APacketThatIsNot20MsIsNamed) {
  SongTrace t = started_with(3);
  trace_packet(t, k40MsPacket, {});
  EXPECT_EQ(t.error_kind, "packet_duration");
  EXPECT_EQ(t.error, "packet 3 holds 1920 samples per channel, not 960 (20 ms)");
}

TEST(SongTrace, AnErrorEventOrAnotherReasonFailsTheSong) {
  SongTrace busy;
  trace_end(busy, {{"type", "error"}, {"code", "busy"}, {"message", "16 songs are running"}}, {});
  EXPECT_EQ(busy.error_kind, "error:busy");
  EXPECT_EQ(busy.error, "16 songs are running");
  SongTrace cancelled = started_with(1);
  trace_end(cancelled, done(0, "cancelled"), {});
  EXPECT_EQ(cancelled.error_kind, "reason:cancelled");
}

}  // namespace
}  // namespace hs::cli
