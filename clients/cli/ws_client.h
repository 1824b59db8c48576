// A Beast WebSocket client for heartstreamd's /v1/stream (docs/protocol.md): sends one `generate`,
// hands each event and Opus packet to the caller as it arrives, and returns the final `done` or
// `error`. SIGINT/SIGTERM while the song runs send `cancel` (the server answers with `done`); a
// second signal ends the process.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <boost/json/object.hpp>

namespace hs::cli {

// ws://HOST[:PORT][/PATH]; the path defaults to /v1/stream, the port to 80.
struct StreamUrl {
  std::string host;
  std::string port;
  std::string target;
};
// Throws InvalidArgument naming the URL (wss:// is not supported).
StreamUrl parse_stream_url(const std::string& url);

// Each may be left empty. Events of other types (a later protocol's) are passed over.
struct StreamHandlers {
  std::function<void(const boost::json::object& started)> on_started{};
  std::function<void(std::span<const std::uint8_t> packet)> on_packet{};
  std::function<void(const boost::json::object& progress)> on_progress{};
  std::function<void(const boost::json::object& queued)> on_queued{};  // the admission queue's position
  std::function<void()> on_generate_sent{};  // the `generate` is written: the song's clock starts
};

// Connects (with `Authorization: Bearer <token>` unless empty), sends `generate`, and runs until
// the server's `done` or `error`, which it returns. Throws Error when the connection fails or ends
// before that.
boost::json::object stream_song(const StreamUrl& url, const std::string& token, const boost::json::object& generate,
                                const StreamHandlers& handlers);

}  // namespace hs::cli
