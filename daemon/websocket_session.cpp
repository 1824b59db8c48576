#include "daemon/websocket_session.h"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/beast/version.hpp>
#include <spdlog/spdlog.h>

#include "daemon/protocol.h"

namespace hs::daemon {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace {

// After a close frame is queued by a rule that does not wait for the queue, the peer has this long
// to take it before the socket is cut.
constexpr auto kCloseGrace = std::chrono::seconds(2);
// The send backlog is looked at again no sooner than this.
constexpr auto kMinSendCheck = std::chrono::milliseconds(10);

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

// A timer's handler that should act: not cancelled, and not superseded by a later expires_after
// (a handler already queued when the timer was re-armed still runs, with no error).
bool fired(const net::steady_timer& timer, beast::error_code ec) {
  return !ec && timer.expiry() <= std::chrono::steady_clock::now();
}

std::string seconds_text(double seconds) {
  std::string s = std::to_string(seconds);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s + " s";
}

}  // namespace

WebsocketSession::WebsocketSession(net::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state,
                                   ConnectionLimits::Slot slot)
    : ws_(std::move(socket)),
      state_(std::move(state)),
      slot_(std::move(slot)),
      slow_timer_(ws_.get_executor()),
      send_timer_(ws_.get_executor()),
      idle_timer_(ws_.get_executor()),
      arrival_timer_(ws_.get_executor()),
      cut_timer_(ws_.get_executor()) {}

WebsocketSession::~WebsocketSession() { state_->leave(this); }

void WebsocketSession::run(beast::http::request<beast::http::string_body>&& upgrade) {
  auto& stream = beast::get_lowest_layer(ws_);
  stream.expires_never();  // the websocket stream has its own timeouts
  if (const int bytes = state_->config().server.socket_send_buffer_bytes; bytes > 0) {
    beast::error_code ec;
    stream.socket().set_option(net::socket_base::send_buffer_size(bytes), ec);
  }
  // The stream is a member: `this` outlives every operation that reports traffic.
  stream.rate_policy().on_read = [this] { on_bytes_read(); };
  stream.rate_policy().on_write = [this](std::size_t bytes) { backlog_.wrote(bytes, Clock::now()); };
  ws_.control_callback([this](websocket::frame_type, beast::string_view) {  // a whole control frame arrived
    message_arriving_ = false;
  });
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
  arm_idle_timer();
  do_read();
}

void WebsocketSession::do_read() {
  if (closing_) return;
  ws_.async_read(buffer_, beast::bind_front_handler(&WebsocketSession::on_read, shared_from_this()));
}

void WebsocketSession::on_read(beast::error_code ec, std::size_t) {
  message_arriving_ = false;
  if (ec) {
    if (ec == websocket::error::message_too_big)
      spdlog::info("websocket: a message exceeded server.max_message_bytes; closed with 1009");
    else if (ec != websocket::error::closed && ec != net::error::operation_aborted)
      spdlog::debug("websocket read: {}", ec.message());
    end_song();
    closing_ = true;
    stop_timers();
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
  if (song_)
    idle_timer_.cancel();
  else
    arm_idle_timer();
  do_read();
}

void WebsocketSession::handle_text(const std::string& text) {
  try {
    ClientMessage message = parse_client_message(text, state_->config().generation);
    std::visit(Overloaded{
                   [&](GenerateMessage& m) {
                     if (song_) {
                       reply(error_message(error_code::kAlreadyGenerating,
                                           "song " + song_->id() + " is still running; cancel it first"));
                       return;
                     }
                     song_ = state_->engines().submit(std::move(m.params), Container::OpusPackets, shared_from_this());
                     if (song_) return;
                     if (state_->stopping()) {
                       reply(error_message(error_code::kShutdown, "the daemon is shutting down"));
                     } else {
                       state_->metrics().rejected_busy();
                       reply(error_message(error_code::kBusy, busy_message(state_->config().server)));
                     }
                   },
                   [&](CancelMessage&) {
                     if (song_)
                       song_->cancel();
                     else
                       reply(error_message(error_code::kNotGenerating, "no song is running"));
                   },
               },
               message);
  } catch (const ProtocolError& e) {
    state_->metrics().rejected_invalid();
    reply(error_message(e.code(), e.what()));
  }
}

void WebsocketSession::reply(std::string message) {
  const int limit = state_->config().server.send_queue_messages;
  if (queued_.load() < limit) return post_message(std::move(message), false);
  spdlog::warn("websocket: closing a client that sends requests without reading the replies");
  close_at_once({websocket::close_code::policy_error,
                 "too many unread replies: the client sends without reading (server.send_queue_messages " +
                     std::to_string(limit) + ")"});
}

void WebsocketSession::on_queued(int position) { post_message(queued_message(position), false); }

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
    if (song_ended) {
      self->song_.reset();
      if (!self->closing_) self->arm_idle_timer();
    }
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
    slow_timer_.expires_after(timeout_from_seconds(state_->config().server.slow_reader_timeout_s));
    slow_timer_.async_wait(beast::bind_front_handler(&WebsocketSession::on_slow_reader_timeout, shared_from_this()));
  }
}

void WebsocketSession::do_write() {
  const Outgoing& front = queue_.front();
  ws_.binary(front.binary);
  ws_.async_write(net::buffer(*front.data), beast::bind_front_handler(&WebsocketSession::on_write, shared_from_this()));
  if (!send_check_armed_) arm_send_check(timeout_from_seconds(state_->config().server.slow_reader_timeout_s));
}

void WebsocketSession::on_write(beast::error_code ec, std::size_t bytes) {
  state_->metrics().add_bytes_sent(static_cast<std::int64_t>(bytes));
  if (ec) {
    if (ec != net::error::operation_aborted) spdlog::debug("websocket write: {}", ec.message());
    end_song();
    closing_ = true;
    close_sent_ = true;
    stop_timers();
    return;
  }
  queue_.pop_front();
  const int limit = state_->config().server.send_queue_messages;
  const int left = --queued_;
  if (left == limit - 1) state_->engines().wake();
  if (slow_timer_armed_ && left < limit && !close_sent_) {
    slow_timer_armed_ = false;
    slow_timer_.cancel();
  }
  if (!queue_.empty()) return do_write();
  if (closing_ && !close_sent_) send_close(close_reason_);
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
  idle_timer_.cancel();
  // Messages posted before this point are still on their way to the queue: close after them.
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->queue_.empty() && !self->close_sent_) self->send_close(self->close_reason_);
  });
}

void WebsocketSession::close_at_once(websocket::close_reason reason) {
  end_song();
  closing_ = true;
  idle_timer_.cancel();
  arrival_timer_.cancel();
  if (!close_sent_) send_close(reason);
  cut_timer_.expires_after(kCloseGrace);
  cut_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) beast::get_lowest_layer(self->ws_).close();
  });
}

void WebsocketSession::send_close(const websocket::close_reason& reason) {
  close_sent_ = true;
  ws_.async_close(reason, [self = shared_from_this()](beast::error_code) {
    self->stop_timers();
    self->cut_timer_.cancel();
  });
}

void WebsocketSession::stop_timers() {
  slow_timer_armed_ = false;
  slow_timer_.cancel();
  send_timer_.cancel();
  idle_timer_.cancel();
  arrival_timer_.cancel();
}

void WebsocketSession::close_slow_reader(const std::string& why) {
  spdlog::warn("websocket: closing a slow reader ({})", why);
  state_->metrics().slow_reader_closed();
  stop_timers();
  close_at_once({websocket::close_code::policy_error, "slow reader: " + why});
}

void WebsocketSession::on_slow_reader_timeout(beast::error_code ec) {
  if (!fired(slow_timer_, ec) || !slow_timer_armed_ || close_sent_) return;
  close_slow_reader("the send queue stayed full for " + seconds_text(state_->config().server.slow_reader_timeout_s));
}

void WebsocketSession::arm_send_check(Clock::duration after) {
  send_check_armed_ = true;
  send_timer_.expires_after(std::max<Clock::duration>(after, kMinSendCheck));
  send_timer_.async_wait(beast::bind_front_handler(&WebsocketSession::on_send_check, shared_from_this()));
}

void WebsocketSession::on_send_check(beast::error_code ec) {
  if (!fired(send_timer_, ec)) return;
  send_check_armed_ = false;
  if (close_sent_) return;
  const double timeout_s = state_->config().server.slow_reader_timeout_s;
  const auto limit = timeout_from_seconds(timeout_s);
  const auto waiting = backlog_.oldest_pending(
      unacknowledged_bytes(beast::get_lowest_layer(ws_).socket().native_handle()), Clock::now());
  if (waiting >= limit)
    return close_slow_reader("data sent " + seconds_text(timeout_s) + " ago is still not taken by the client");
  if (waiting > Clock::duration::zero() || !queue_.empty()) arm_send_check(limit - waiting);
}

void WebsocketSession::arm_idle_timer() {
  idle_timer_.expires_after(timeout_from_seconds(state_->config().server.websocket_idle_timeout_s));
  idle_timer_.async_wait(beast::bind_front_handler(&WebsocketSession::on_idle_timeout, shared_from_this()));
}

void WebsocketSession::on_idle_timeout(beast::error_code ec) {
  if (!fired(idle_timer_, ec) || song_ || closing_) return;
  const double timeout_s = state_->config().server.websocket_idle_timeout_s;
  spdlog::debug("websocket: closing an idle connection");
  close_when_flushed({websocket::close_code::normal, "idle: no song and no message for " + seconds_text(timeout_s) +
                                                         " (server.websocket_idle_timeout_s)"});
}

void WebsocketSession::on_bytes_read() {
  if (message_arriving_ || closing_) return;
  message_arriving_ = true;
  arrival_timer_.expires_after(timeout_from_seconds(state_->config().server.request_timeout_s));
  arrival_timer_.async_wait(beast::bind_front_handler(&WebsocketSession::on_message_arrival_timeout, shared_from_this()));
}

void WebsocketSession::on_message_arrival_timeout(beast::error_code ec) {
  if (!fired(arrival_timer_, ec) || !message_arriving_ || closing_) return;
  const double timeout_s = state_->config().server.request_timeout_s;
  spdlog::info("websocket: closing a client whose message is arriving too slowly");
  close_at_once({websocket::close_code::policy_error, "a message took longer than " + seconds_text(timeout_s) +
                                                          " to arrive (server.request_timeout_s)"});
}

void WebsocketSession::end_song() {
  if (song_) song_->cancel();
}

}  // namespace hs::daemon
