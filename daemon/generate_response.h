// POST /v1/generate: one song as an `audio/ogg` response body, sent with chunked transfer encoding
// as Ogg pages come out of the engine (DESIGN.md "Protocol"). Errors before the first page are a
// JSON error response (503 busy/shutdown, 500 engine failure); an error after it cuts the
// connection without the final chunk, so the client sees a truncated body. Same bounded queue and
// slow-reader rule as the WebSocket; the connection closes after the song.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/connection.h"
#include "daemon/shared_state.h"
#include "daemon/song_listener.h"

namespace hs::daemon {

class GenerateResponse : public std::enable_shared_from_this<GenerateResponse>,
                         public SongListener,
                         public Connection {
 public:
  // `slot`: the connection's place under the connection limits (from its HttpSession).
  GenerateResponse(boost::beast::tcp_stream&& stream, std::shared_ptr<SharedState> state, ConnectionLimits::Slot slot,
                   unsigned http_version);
  ~GenerateResponse() override;

  // Submits the song (on the connection's strand).
  void start(SongParams params);

  // SongListener (engine worker thread).
  // A queued song sends nothing: the response starts when the song does.
  void on_queued(int) override {}
  void on_started(const StartedInfo& info) override;
  void on_audio(std::span<const std::uint8_t> bytes) override;
  void on_progress(std::int64_t audio_ms, double rtf) override;
  void on_done(const DoneInfo& info) override;
  void on_error(std::string_view code, std::string_view message) override;
  bool ready() const override;

  // Connection: the worker ends the song at shutdown; nothing more to do here.
  void shut_down() override {}

 private:
  enum class Kind : std::uint8_t { Chunk, LastChunk, ErrorResponse, Abort };
  struct Item {
    Kind kind;
    std::shared_ptr<const std::string> data;  // chunk bytes, or the error JSON
    boost::beast::http::status status = boost::beast::http::status::ok;
  };

  void post_item(Item item);
  void enqueue(Item item);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void on_slow_reader_timeout(boost::beast::error_code ec);
  void close();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<SharedState> state_;
  ConnectionLimits::Slot slot_;
  unsigned http_version_;
  boost::asio::steady_timer slow_timer_;
  std::shared_ptr<SongHandle> song_;  // strand only
  std::deque<Item> queue_;            // strand only
  std::atomic<int> queued_{0};        // items posted and not yet written
  bool header_sent_ = false;          // strand only
  bool writing_header_ = false;       // strand only: the in-flight write is the header
  bool closed_ = false;               // strand only
  bool slow_timer_armed_ = false;     // strand only
  std::optional<boost::beast::http::response<boost::beast::http::empty_body>> header_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::empty_body>> header_writer_;
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> error_response_;
};

}  // namespace hs::daemon
