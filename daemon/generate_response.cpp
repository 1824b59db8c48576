#include "daemon/generate_response.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "daemon/protocol.h"

namespace hs::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

constexpr std::string_view kOggType = "audio/ogg";
constexpr std::string_view kSongIdHeader = "X-Heartstream-Song-Id";

http::status status_for(std::string_view code) {
  if (code == error_code::kBusy || code == error_code::kShutdown) return http::status::service_unavailable;
  return http::status::internal_server_error;
}

}  // namespace

GenerateResponse::GenerateResponse(beast::tcp_stream&& stream, std::shared_ptr<SharedState> state,
                                   ConnectionLimits::Slot slot, unsigned http_version)
    : stream_(std::move(stream)),
      state_(std::move(state)),
      slot_(std::move(slot)),
      http_version_(http_version),
      slow_timer_(stream_.get_executor()) {}

GenerateResponse::~GenerateResponse() { state_->leave(this); }

void GenerateResponse::start(SongParams params) {
  stream_.expires_never();
  if (const int bytes = state_->config().server.socket_send_buffer_bytes; bytes > 0) {
    beast::error_code ec;
    stream_.socket().set_option(net::socket_base::send_buffer_size(bytes), ec);
  }
  state_->join(shared_from_this());
  song_ = state_->engines().submit(std::move(params), Container::OggPages, shared_from_this());
  if (song_) return;
  const bool stopping = state_->stopping();
  if (!stopping) state_->metrics().rejected_busy();
  const std::string_view code = stopping ? error_code::kShutdown : error_code::kBusy;
  post_item({Kind::ErrorResponse,
             std::make_shared<const std::string>(error_message(
                 code, stopping ? "the daemon is shutting down" : busy_message(state_->config().server))),
             status_for(code)});
}

void GenerateResponse::on_started(const StartedInfo&) {}

void GenerateResponse::on_audio(std::span<const std::uint8_t> bytes) {
  post_item({Kind::Chunk, std::make_shared<const std::string>(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
}

void GenerateResponse::on_progress(std::int64_t, double) {}

void GenerateResponse::on_done(const DoneInfo& info) {
  spdlog::info("POST /v1/generate: done ({}, {} ms of audio)", info.reason, info.audio_ms);
  post_item({Kind::LastChunk, nullptr});
}

void GenerateResponse::on_error(std::string_view code, std::string_view message) {
  post_item({Kind::ErrorResponse, std::make_shared<const std::string>(error_message(code, message)), status_for(code)});
}

bool GenerateResponse::ready() const { return queued_.load() < state_->config().server.send_queue_messages; }

void GenerateResponse::post_item(Item item) {
  ++queued_;
  net::post(stream_.get_executor(), [self = shared_from_this(), item = std::move(item)]() mutable {
    self->enqueue(std::move(item));
  });
}

void GenerateResponse::enqueue(Item item) {
  if (closed_) {
    --queued_;
    return;
  }
  // After the header has gone out an error can only cut the body short.
  if (item.kind == Kind::ErrorResponse && (header_sent_ || writing_header_)) item.kind = Kind::Abort;
  queue_.push_back(std::move(item));
  if (queue_.size() == 1 && !writing_header_) do_write();
  if (!slow_timer_armed_ && queued_.load() >= state_->config().server.send_queue_messages) {
    slow_timer_armed_ = true;
    slow_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(state_->config().server.slow_reader_timeout_s)));
    slow_timer_.async_wait(beast::bind_front_handler(&GenerateResponse::on_slow_reader_timeout, shared_from_this()));
  }
}

void GenerateResponse::do_write() {
  Item& item = queue_.front();
  auto done = beast::bind_front_handler(&GenerateResponse::on_write, shared_from_this());
  if (item.kind == Kind::Abort) return close();
  if (item.kind == Kind::ErrorResponse) {
    error_response_.emplace(item.status, http_version_);
    error_response_->set(http::field::server, kServerName);
    error_response_->set(http::field::content_type, "application/json");
    error_response_->keep_alive(false);
    error_response_->body() = *item.data;
    error_response_->prepare_payload();
    return http::async_write(stream_, *error_response_, std::move(done));
  }
  if (!header_sent_) {
    header_.emplace(http::status::ok, http_version_);
    header_->set(http::field::server, kServerName);
    header_->set(http::field::content_type, kOggType);
    header_->set(http::field::cache_control, "no-store");
    header_->set(kSongIdHeader, song_ ? song_->id() : std::string());
    header_->keep_alive(false);
    header_->chunked(true);
    header_writer_.emplace(*header_);
    writing_header_ = true;
    return http::async_write_header(stream_, *header_writer_, std::move(done));
  }
  if (item.kind == Kind::LastChunk) return net::async_write(stream_, http::make_chunk_last(), std::move(done));
  net::async_write(stream_, http::make_chunk(net::buffer(*item.data)), std::move(done));
}

void GenerateResponse::on_write(beast::error_code ec, std::size_t bytes) {
  state_->metrics().add_bytes_sent(static_cast<std::int64_t>(bytes));
  if (ec) {
    spdlog::info("POST /v1/generate: the client went away ({})", ec.message());
    return close();
  }
  if (writing_header_) {  // the item at the front is still to be written
    writing_header_ = false;
    header_sent_ = true;
    return do_write();
  }
  const Kind kind = queue_.front().kind;
  queue_.pop_front();
  const int limit = state_->config().server.send_queue_messages;
  const int left = --queued_;
  if (left == limit - 1) state_->engines().wake();
  if (slow_timer_armed_ && left < limit) {
    slow_timer_armed_ = false;
    slow_timer_.cancel();
  }
  if (kind == Kind::LastChunk || kind == Kind::ErrorResponse) return close();
  if (!queue_.empty()) do_write();
}

void GenerateResponse::on_slow_reader_timeout(beast::error_code ec) {
  if (ec == net::error::operation_aborted || !slow_timer_armed_ || closed_) return;
  spdlog::warn("POST /v1/generate: closing a slow reader (send queue full for {} s)",
               state_->config().server.slow_reader_timeout_s);
  state_->metrics().slow_reader_closed();
  close();
}

void GenerateResponse::close() {
  if (closed_) return;
  closed_ = true;
  if (song_) song_->cancel();
  slow_timer_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
}

}  // namespace hs::daemon
