#include "daemon/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "daemon/generate_response.h"
#include "daemon/protocol.h"
#include "daemon/static_files.h"
#include "daemon/websocket_session.h"

namespace hs::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// Bytes asked of the socket while waiting for a request's first ones.
constexpr std::size_t kFirstReadBytes = 4096;
constexpr std::string_view kStreamPath = "/v1/stream";
constexpr std::string_view kPlainText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

template <class Request>
http::message_generator text_response(const Request& req, http::status status, std::string_view type, std::string body) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, kServerName);
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

template <class Request>
http::message_generator error_response(const Request& req, http::status status, std::string_view code,
                                       std::string_view message) {
  auto res = http::response<http::string_body>{status, req.version()};
  res.set(http::field::server, kServerName);
  res.set(http::field::content_type, kJson);
  if (status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
  res.keep_alive(req.keep_alive());
  res.body() = error_message(code, message);
  res.prepare_payload();
  return res;
}

template <class Request>
std::optional<http::message_generator> file_response(const Request& req, const std::filesystem::path& root) {
  const auto file = find_static_file(root, req.target());
  if (!file) return std::nullopt;
  http::file_body::value_type body;
  beast::error_code ec;
  body.open(file->path.c_str(), beast::file_mode::scan, ec);
  if (ec) return std::nullopt;
  const auto size = body.size();
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(http::status::ok, req.version())};
  res.set(http::field::server, kServerName);
  res.set(http::field::content_type, file->content_type);
  res.set(http::field::cache_control, "no-cache");
  res.content_length(size);
  res.keep_alive(req.keep_alive());
  return res;
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state, ConnectionLimits::Slot slot)
    : stream_(std::move(socket)), state_(std::move(state)), slot_(std::move(slot)) {}

HttpSession::~HttpSession() { state_->leave(this); }

void HttpSession::run() {
  state_->join(shared_from_this());
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::shut_down() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    if (self->idle_) self->do_close();
  });
}

void HttpSession::do_read() {
  if (stopping_) return do_close();
  parser_.emplace();
  parser_->body_limit(static_cast<std::uint64_t>(state_->config().server.max_message_bytes));
  if (buffer_.size() > 0) return read_request();  // a pipelined request has begun
  idle_ = true;
  stream_.expires_after(timeout_from_seconds(state_->config().server.http_idle_timeout_s));
  stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                          beast::bind_front_handler(&HttpSession::on_first_bytes, shared_from_this()));
}

void HttpSession::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  idle_ = false;
  if (ec) return do_close();  // the client closed, stayed idle too long, or the daemon is stopping
  buffer_.commit(bytes);
  read_request();
}

void HttpSession::read_request() {
  stream_.expires_after(timeout_from_seconds(state_->config().server.request_timeout_s));
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted)
    return do_close();
  if (ec == http::error::body_limit) {
    Request req;
    req.version(11);
    req.keep_alive(false);
    return send(error_response(req, http::status::payload_too_large, "message_too_large",
                               "the request body exceeds server.max_message_bytes (" +
                                   std::to_string(state_->config().server.max_message_bytes) + ")"));
  }
  if (ec) {
    spdlog::debug("http read: {}", ec.message());
    return do_close();
  }
  Request req = parser_->release();
  handle(std::move(req));
}

bool HttpSession::handle(Request&& req) {
  const std::string_view target = req.target();
  const std::string_view path = path_of(target);
  const bool authorized = state_->authorized(req[http::field::authorization], target);
  if (state_->stopping()) {
    req.keep_alive(false);
    send(error_response(req, http::status::service_unavailable, error_code::kShutdown, "the daemon is shutting down"));
    return true;
  }
  if (beast::websocket::is_upgrade(req)) {
    if (path != kStreamPath) {
      send(error_response(req, http::status::not_found, "not_found", "WebSocket is served at /v1/stream"));
    } else if (!authorized) {
      send(error_response(req, http::status::unauthorized, "unauthorized", "a valid bearer token is required"));
    } else {
      std::make_shared<WebsocketSession>(stream_.release_socket(), state_, std::move(slot_))->run(std::move(req));
      return false;
    }
    return true;
  }
  if (path == "/healthz" && req.method() == http::verb::get) {
    send(text_response(req, http::status::ok, kPlainText, "ok\n"));
    return true;
  }
  const bool api = path == "/metrics" || path.rfind("/v1/", 0) == 0;
  if (api && !authorized) {
    send(error_response(req, http::status::unauthorized, "unauthorized", "a valid bearer token is required"));
    return true;
  }
  if (path == "/metrics" && req.method() == http::verb::get) {
    send(text_response(req, http::status::ok, kPrometheusText, state_->metrics().prometheus_text()));
  } else if (path == "/v1/info" && req.method() == http::verb::get) {
    send(text_response(req, http::status::ok, kJson, state_->info_json()));
  } else if (path == "/v1/generate" && req.method() == http::verb::post) {
    try {
      SongParams params = parse_generate_body(req.body(), state_->config().generation);
      std::make_shared<GenerateResponse>(std::move(stream_), state_, std::move(slot_), req.version())->start(std::move(params));
      return false;
    } catch (const ProtocolError& e) {
      send(error_response(req, http::status::bad_request, e.code(), e.what()));
    }
  } else if (req.method() == http::verb::get || req.method() == http::verb::head) {
    if (auto file = file_response(req, state_->web_root()))
      send(std::move(*file));
    else
      send(error_response(req, http::status::not_found, "not_found", "no such page: " + std::string(path)));
  } else {
    send(error_response(req, http::status::method_not_allowed, "method_not_allowed",
                        std::string(req.method_string()) + " is not allowed on " + std::string(path)));
  }
  return true;
}

void HttpSession::send(http::message_generator&& response) {
  const bool keep_alive = response.keep_alive() && !stopping_;
  stream_.expires_after(timeout_from_seconds(state_->config().server.request_timeout_s));
  beast::async_write(stream_, std::move(response),
                     beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t bytes) {
  state_->metrics().add_bytes_sent(static_cast<std::int64_t>(bytes));
  if (ec) {
    spdlog::debug("http write: {}", ec.message());
    return do_close();
  }
  if (!keep_alive) return do_close();
  do_read();
}

void HttpSession::do_close() {
  slot_ = {};  // before the socket closes: a client that sees the close may connect again at once
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.close();
}

}  // namespace hs::daemon
