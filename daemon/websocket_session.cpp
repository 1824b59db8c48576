#include "daemon/websocket_session.h"

#include <boost/asio/post.hpp>
#include <boost/beast/version.hpp>
#include <spdlog/spdlog.h>

#include "daemon/protocol.h"

namespace hs::daemon {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

// After a slow-reader close frame is queued, the peer has this long to take it before the socket
// is cut.
constexpr auto kCloseGrace = std::chrono::seconds(2);

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

}  // namespace

WebsocketSession::WebsocketSession(net::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state)
    : ws_(std::move(socket)), state_(std::move(state)), slow_timer_(ws_.get_executor()) {}

WebsocketSession::~WebsocketSession() { state_->leave(this); }

void WebsocketSession::run(beast::http::request<beast::http::string_body>&& upgrade) {
  beast::get_lowest_layer(ws_).expires_never();  // the websocket stream has its own timeouts
  if (const int bytes = state_->config().server.socket_send_buffer_bytes; bytes > 0) {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().set_option(net::socket_base::send_buffer_size(bytes), ec);
  }
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, kServerName); }));
  websocket::permessage_deflate no_deflate;
  no_deflate.server_enable = false;
  no_deflate.client_enable = false;
  ws_.set_option(no_deflate);
  ws_.read_message_max(static_cast<std::uint64_t>(state_->config().server.max_message_bytes));
  ws_.async_accept(upgrade, beast::bind_front_handler(&WebsocketSession::on_accept, shared_from_this()));
}

void WebsocketSession::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("websocket accept: {}", ec.message());
    return;
  }
  state_->join(shared_from_this());
  do_read();
}

void WebsocketSession::do_read() {
  if (closing_) return;
  ws_.async_read(buffer_, beast::bind_front_handler(&WebsocketSession::on_read, shared_from_this()));
}

void WebsocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec == websocket::error::message_too_big)
      spdlog::info("websocket: a message exceeded server.max_message_bytes; closed with 1009");
    else if (ec != websocket::error::closed && ec != net::error::operation_aborted)
      spdlog::debug("websocket read: {}", ec.message());
    end_song();
    closing_ = true;
    return;
  }
  if (!ws_.got_text()) {
    buffer_.consume(buffer_.size());
    return fail_and_close(error_code::kBinaryNotAllowed, "the server accepts only text (JSON) messages",
                          websocket::close_code::policy_error);
  }
  const std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  handle_text(text);
  do_read();
}

void WebsocketSession::handle_text(const std::string& text) {
  try {
    ClientMessage message = parse_client_message(text, state_->config().generation);
    std::visit(Overloaded{
                   [&](GenerateMessage& m) {
                     if (song_) {
                       post_message(error_message(error_code::kAlreadyGenerating,
                                                  "song " + song_->id() + " is still running; cancel it first"),
                                    false);
                       return;
                     }
                     song_ = state_->worker().submit(std::move(m.params), Container::OpusPackets, shared_from_this());
                     if (song_) return;
                     if (state_->stopping()) {
                       post_message(error_message(error_code::kShutdown, "the daemon is shutting down"), false);
                     } else {
                       state_->metrics().rejected_busy();
                       post_message(error_message(error_code::kBusy,
                                                  std::to_string(state_->config().server.max_sessions) +
                                                      " songs are running (server.max_sessions); try again later"),
                                    false);
                     }
                   },
                   [&](CancelMessage&) {
                     if (song_)
                       song_->cancel();
                     else
                       post_message(error_message(error_code::kNotGenerating, "no song is running"), false);
                   },
               },
               message);
  } catch (const ProtocolError& e) {
    post_message(error_message(e.code(), e.what()), false);
  }
}

void WebsocketSession::on_started(const StartedInfo& info) { post_message(started_message(info), false); }

void WebsocketSession::on_audio(std::span<const std::uint8_t> bytes) {
  post_message(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), true);
}

void WebsocketSession::on_progress(std::int64_t audio_ms, double rtf) {
  post_message(progress_message(audio_ms, rtf), false);
}

void WebsocketSession::on_done(const DoneInfo& info) { post_message(done_message(info), false, true); }

void WebsocketSession::on_error(std::string_view code, std::string_view message) {
  post_message(error_message(code, message), false, true);
}

bool WebsocketSession::ready() const { return queued_.load() < state_->config().server.send_queue_messages; }

void WebsocketSession::shut_down() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_when_flushed({websocket::close_code::going_away, "the daemon is shutting down"});
  });
}

void WebsocketSession::post_message(std::string message, bool binary, bool song_ended) {
  ++queued_;
  net::post(ws_.get_executor(), [self = shared_from_this(), data = std::make_shared<const std::string>(std::move(message)),
                                 binary, song_ended] {
    if (song_ended) self->song_.reset();
    self->enqueue(Outgoing{data, binary});
  });
}

void WebsocketSession::enqueue(Outgoing message) {
  if (close_sent_) {
    --queued_;
    return;
  }
  queue_.push_back(std::move(message));
  if (queue_.size() == 1) do_write();
  if (!slow_timer_armed_ && queued_.load() >= state_->config().server.send_queue_messages) {
    slow_timer_armed_ = true;
    slow_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(state_->config().server.slow_reader_timeout_s)));
    slow_timer_.async_wait(beast::bind_front_handler(&WebsocketSession::on_slow_reader_timeout, shared_from_this()));
  }
}

void WebsocketSession::do_write() {
  const Outgoing& front = queue_.front();
  ws_.binary(front.binary);
  ws_.async_write(net::buffer(*front.data), beast::bind_front_handler(&WebsocketSession::on_write, shared_from_this()));
}

void WebsocketSession::on_write(beast::error_code ec, std::size_t bytes) {
  state_->metrics().add_bytes_sent(static_cast<std::int64_t>(bytes));
  if (ec) {
    if (ec != net::error::operation_aborted) spdlog::debug("websocket write: {}", ec.message());
    end_song();
    closing_ = true;
    close_sent_ = true;
    return;
  }
  queue_.pop_front();
  const int limit = state_->config().server.send_queue_messages;
  const int left = --queued_;
  if (left == limit - 1) state_->worker().wake();
  if (slow_timer_armed_ && left < limit && !close_sent_) {
    slow_timer_armed_ = false;
    slow_timer_.cancel();
  }
  if (!queue_.empty()) return do_write();
  if (closing_ && !close_sent_) {
    close_sent_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {});
  }
}

void WebsocketSession::fail_and_close(std::string_view code, std::string_view message, websocket::close_code close_code) {
  post_message(error_message(code, message), false);
  close_when_flushed({close_code, std::string(message)});
}

void WebsocketSession::close_when_flushed(websocket::close_reason reason) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = std::move(reason);
  end_song();
  // Messages posted before this point are still on their way to the queue: close after them.
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->queue_.empty() && !self->close_sent_) {
      self->close_sent_ = true;
      self->ws_.async_close(self->close_reason_, [self](beast::error_code) {});
    }
  });
}

void WebsocketSession::on_slow_reader_timeout(beast::error_code ec) {
  if (ec == net::error::operation_aborted || !slow_timer_armed_) return;
  if (close_sent_) {  // the grace period after the close frame ran out: cut the connection
    beast::get_lowest_layer(ws_).close();
    return;
  }
  const double timeout_s = state_->config().server.slow_reader_timeout_s;
  spdlog::warn("websocket: closing a slow reader (send queue full for {} s)", timeout_s);
  state_->metrics().slow_reader_closed();
  end_song();
  closing_ = true;
  close_sent_ = true;
  ws_.async_close({websocket::close_code::policy_error, "slow reader: the send queue stayed full for " +
                                                            std::to_string(timeout_s) + " s"},
                  [self = shared_from_this()](beast::error_code) {});
  slow_timer_.expires_after(kCloseGrace);
  slow_timer_.async_wait(beast::bind_front_handler(&WebsocketSession::on_slow_reader_timeout, shared_from_this()));
}

void WebsocketSession::end_song() {
  if (song_) song_->cancel();
}

}  // namespace hs::daemon
