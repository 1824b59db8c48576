// Synchronous Beast clients for the daemon tests: a WebSocket client on /v1/stream that records a
// song's messages, and one-shot HTTP requests. Every operation has a generous deadline so a
// daemon bug fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace hs::test {

inline constexpr auto kClientDeadline = std::chrono::seconds(120);

struct WsMessage {
  bool binary = false;
  std::string data;
};

// A song as a client saw it: the positions of its `queued` messages, `started`, the Opus packets
// in order, progress, and the final `done` or `error`.
struct SongTranscript {
  std::vector<std::int64_t> queued;
  boost::json::object started;
  std::vector<std::string> packets;
  std::vector<boost::json::object> progress;
  boost::json::object end;  // type done or error
};

class WsClient {
 public:
  // Connects and upgrades; throws boost::system::system_error when refused (response() then
  // holds the HTTP answer). `receive_buffer_bytes` > 0 shrinks SO_RCVBUF before connecting.
  explicit WsClient(unsigned short port, const std::string& target = "/v1/stream",
                    const std::map<std::string, std::string>& headers = {}, int receive_buffer_bytes = 0);

  void send_text(const std::string& text);
  void send_binary(const std::string& data);
  // The next message; throws system_error when the connection ends (close_reason() then says why).
  WsMessage read();
  boost::json::object read_json();  // the next message, which must be text
  // Sends a generate message and reads until done/error.
  SongTranscript generate(const boost::json::object& request);
  // Reads until done/error (after a generate sent by the caller).
  SongTranscript read_song();

  boost::beast::websocket::close_reason close_reason() const { return ws_.reason(); }
  void close();
  // Drops the TCP connection without a close handshake.
  void abort();
  // Sends a ping (a control frame; its pong is taken by the next read).
  void ping();
  // Writes bytes straight to the socket, past the WebSocket framing (e.g. half a frame).
  void send_raw(const std::string& bytes);

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
};

struct HttpResult {
  unsigned status = 0;
  std::string content_type;
  std::string transfer_encoding;
  std::string body;
};

HttpResult http_request(unsigned short port, boost::beast::http::verb method, const std::string& target,
                        const std::string& body = {}, const std::map<std::string, std::string>& headers = {});

// Decodes each packet with libopus (48 kHz stereo); returns the samples per channel, or -1 at the
// first packet libopus rejects.
std::int64_t decode_opus_packets(const std::vector<std::string>& packets);

// A `generate` request for the demo model: fixed tags and lyrics, this length and seed.
boost::json::object song_request(std::int64_t max_audio_length_ms, std::uint64_t seed);
// The `queued` message of a song at `position` in the admission queue.
boost::json::object queued_message(int position);

// The value of a metric line "name value" in Prometheus text, or nullopt.
std::optional<double> metric_value(const std::string& text, const std::string& name);

}  // namespace hs::test
