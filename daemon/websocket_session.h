// One WebSocket client on /v1/stream (Beast chat-multi's websocket_session): reads JSON commands,
// runs at most one song at a time through the engine worker, and sends its messages in order —
// text frames for JSON, binary frames for Opus packets — through a bounded queue with one write in
// flight, all on the connection's strand. Every outbound message counts against the queue
// (server.send_queue_messages), replies to bad requests included.
//
// Closing rules (docs/protocol.md "Limits and timeouts"):
// - slow reader (code 1008): the queue stays full for server.slow_reader_timeout_s (the song is
//   paused meanwhile), or the oldest byte handed to the socket waits that long for the peer to take
//   it (the kernel's unacknowledged bytes, so a large socket buffer does not hide a stalled client);
// - a reply would overflow the queue (code 1008): the client sends without reading;
// - idle (code 1000): no song running and no complete message for server.websocket_idle_timeout_s
//   (pings, pongs and partial frames do not count);
// - a message still arriving server.request_timeout_s after its first byte (code 1008).
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "daemon/connection.h"
#include "daemon/send_backlog.h"
#include "daemon/shared_state.h"
#include "daemon/song_listener.h"

namespace hs::daemon {

class WebsocketSession : public std::enable_shared_from_this<WebsocketSession>,
                         public SongListener,
                         public Connection {
 public:
  // `slot`: the connection's place under the connection limits (from its HttpSession).
  WebsocketSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state, ConnectionLimits::Slot slot);
  ~WebsocketSession() override;

  // Accepts the upgrade request and starts reading.
  void run(boost::beast::http::request<boost::beast::http::string_body>&& upgrade);

  // SongListener (engine worker thread).
  void on_queued(int position) override;
  void on_started(const StartedInfo& info) override;
  void on_audio(std::span<const std::uint8_t> bytes) override;
  void on_progress(std::int64_t audio_ms, double rtf) override;
  void on_done(const DoneInfo& info) override;
  void on_error(std::string_view code, std::string_view message) override;
  bool ready() const override;

  // Connection (any thread).
  void shut_down() override;

 private:
  // A Beast rate policy that limits nothing and reports the bytes the socket reads and writes (on
  // the strand): the first bytes of a message start its arrival deadline, and written bytes feed
  // the send backlog.
  class Traffic {
   public:
    std::function<void()> on_read;
    std::function<void(std::size_t)> on_write;

   private:
    friend class boost::beast::rate_policy_access;
    std::size_t available_read_bytes() const noexcept { return std::numeric_limits<std::size_t>::max(); }
    std::size_t available_write_bytes() const noexcept { return std::numeric_limits<std::size_t>::max(); }
    void transfer_read_bytes(std::size_t bytes) {
      if (bytes > 0 && on_read) on_read();
    }
    void transfer_write_bytes(std::size_t bytes) {
      if (bytes > 0 && on_write) on_write(bytes);
    }
    void on_timer() {}
  };
  using Stream = boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::any_io_executor, Traffic>;
  using Clock = std::chrono::steady_clock;

  struct Outgoing {
    std::shared_ptr<const std::string> data;
    bool binary = false;
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_text(const std::string& text);
  // An answer to the client's message (strand); closes the connection instead when the queue is full.
  void reply(std::string message);
  // Posts `message` onto the strand's queue (any thread). `song_ended` clears the current song.
  void post_message(std::string message, bool binary, bool song_ended = false);
  void enqueue(Outgoing message);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  // Sends an `error` and then closes with `close_code` once the queue has drained.
  void fail_and_close(std::string_view code, std::string_view message, boost::beast::websocket::close_code close_code);
  void close_when_flushed(boost::beast::websocket::close_reason reason);
  // Ends the song and sends the close frame now, cutting the socket if the peer has not taken it
  // within a grace period.
  void close_at_once(boost::beast::websocket::close_reason reason);
  void send_close(const boost::beast::websocket::close_reason& reason);
  // Cancels every timer but the close frame's grace period: the connection is ending.
  void stop_timers();
  void close_slow_reader(const std::string& why);
  void on_slow_reader_timeout(boost::beast::error_code ec);
  void arm_send_check(Clock::duration after);
  void on_send_check(boost::beast::error_code ec);
  void arm_idle_timer();
  void on_idle_timeout(boost::beast::error_code ec);
  void on_bytes_read();
  void on_message_arrival_timeout(boost::beast::error_code ec);
  void end_song();

  boost::beast::websocket::stream<Stream> ws_;
  std::shared_ptr<SharedState> state_;
  ConnectionLimits::Slot slot_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer slow_timer_;     // the queue-full rule
  boost::asio::steady_timer send_timer_;     // the send-backlog rule
  boost::asio::steady_timer idle_timer_;     // no song and no message
  boost::asio::steady_timer arrival_timer_;  // a message arriving too slowly
  boost::asio::steady_timer cut_timer_;      // the close frame's grace period
  std::deque<Outgoing> queue_;               // strand only
  std::atomic<int> queued_{0};               // messages posted and not yet written (any thread)
  std::shared_ptr<SongHandle> song_;         // strand only: the song running on this connection
  SendBacklog backlog_;                      // strand only
  bool slow_timer_armed_ = false;            // strand only
  bool send_check_armed_ = false;            // strand only
  bool message_arriving_ = false;            // strand only: bytes of a message came, the message has not
  bool closing_ = false;                     // strand only: no more reads; close after the queue
  bool close_sent_ = false;                  // strand only
  boost::beast::websocket::close_reason close_reason_;
};

}  // namespace hs::daemon
