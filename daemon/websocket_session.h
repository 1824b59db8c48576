// One WebSocket client on /v1/stream (Beast chat-multi's websocket_session): reads JSON commands,
// runs at most one song at a time through the engine worker, and sends its messages in order —
// text frames for JSON, binary frames for Opus packets — through a bounded queue with one write in
// flight, all on the connection's strand. A full queue pauses the song; a queue that stays full for
// server.slow_reader_timeout_s closes the connection with a reason.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "daemon/connection.h"
#include "daemon/shared_state.h"
#include "daemon/song_listener.h"

namespace hs::daemon {

class WebsocketSession : public std::enable_shared_from_this<WebsocketSession>,
                         public SongListener,
                         public Connection {
 public:
  WebsocketSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state);
  ~WebsocketSession() override;

  // Accepts the upgrade request and starts reading.
  void run(boost::beast::http::request<boost::beast::http::string_body>&& upgrade);

  // SongListener (engine worker thread).
  void on_started(const StartedInfo& info) override;
  void on_audio(std::span<const std::uint8_t> bytes) override;
  void on_progress(std::int64_t audio_ms, double rtf) override;
  void on_done(const DoneInfo& info) override;
  void on_error(std::string_view code, std::string_view message) override;
  bool ready() const override;

  // Connection (any thread).
  void shut_down() override;

 private:
  struct Outgoing {
    std::shared_ptr<const std::string> data;
    bool binary = false;
  };

  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_text(const std::string& text);
  // Posts `message` onto the strand's queue (any thread). `song_ended` clears the current song.
  void post_message(std::string message, bool binary, bool song_ended = false);
  void enqueue(Outgoing message);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  // Sends an `error` and then closes with `close_code` once the queue has drained.
  void fail_and_close(std::string_view code, std::string_view message, boost::beast::websocket::close_code close_code);
  void close_when_flushed(boost::beast::websocket::close_reason reason);
  void on_slow_reader_timeout(boost::beast::error_code ec);
  void end_song();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::shared_ptr<SharedState> state_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer slow_timer_;
  std::deque<Outgoing> queue_;           // strand only
  std::atomic<int> queued_{0};           // messages posted and not yet written (any thread)
  std::shared_ptr<SongHandle> song_;     // strand only: the song running on this connection
  bool slow_timer_armed_ = false;        // strand only
  bool closing_ = false;                 // strand only: no more reads; close after the queue
  bool close_sent_ = false;              // strand only
  boost::beast::websocket::close_reason close_reason_;
};

}  // namespace hs::daemon
