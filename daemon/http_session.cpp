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
// Request targets longer than this get 414; the request line and header fields together are held
// to Beast's header limit (8 KiB), over which a request gets 431 (414 when its first line is the
// long part).
constexpr std::size_t kMaxTargetBytes = 4096;
// After refusing a request it could not read to its end, the daemon drops what the client still
// sends for this long (or this many bytes) before closing, so that the close does not reset the
// connection before the client has read the answer (RFC 9112 9.6).
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;
constexpr std::size_t kLingerReadBytes = 64 * 1024;
constexpr std::string_view kGetHead = "GET, HEAD";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// RFC 9110's methods (and PATCH): a route that does not take one answers 405; any other method 501.
bool known_method(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::post:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::connect:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::patch: return true;
    default: return false;
  }
}

// The methods a path takes (a 405's Allow header), or "" when there is no such path.
std::string_view allowed_methods(std::string_view path, bool static_file) {
  if (path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/info") return kGetHead;
  if (path == "/v1/generate") return "POST";
  if (path == kStreamPath) return "GET";
  return static_file ? kGetHead : "";
}

bool allows(std::string_view allowed, http::verb method) {
  const std::string_view name = http::to_string(method);
  while (!allowed.empty()) {
    const auto comma = allowed.find(", ");
    if (allowed.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 2);
  }
  return false;
}

// The response as sent: the Server and Connection headers, and for a HEAD request the header alone
// (its Content-Length as for GET, RFC 9110 9.3.2).
template <class Request, class Body>
http::message_generator finish(const Request& req, http::response<Body>&& res) {
  res.set(http::field::server, kServerName);
  res.keep_alive(req.keep_alive());
  if (req.method() != http::verb::head) return std::move(res);
  return http::response<http::empty_body>(std::move(res.base()));
}

template <class Request>
http::message_generator text_response(const Request& req, http::status status, std::string_view type, std::string body) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return finish(req, std::move(res));
}

// One header more than the usual ones (Allow on a 405, Upgrade on a 426).
struct ExtraHeader {
  http::field name = http::field::unknown;
  std::string_view value;
};

// `{"type":"error","code":...,"message":...}`, the shape of the WebSocket's error message.
template <class Request>
http::message_generator error_response(const Request& req, http::status status, std::string_view code,
                                       std::string_view message, ExtraHeader extra = {}) {
  auto res = http::response<http::string_body>{status, req.version()};
  res.set(http::field::content_type, kJson);
  if (status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
  if (extra.name != http::field::unknown) res.set(extra.name, extra.value);
  res.body() = error_message(code, message);
  res.prepare_payload();
  return finish(req, std::move(res));
}

template <class Request>
std::optional<http::message_generator> file_response(const Request& req, const StaticFile& file) {
  http::file_body::value_type body;
  beast::error_code ec;
  body.open(file.path.c_str(), beast::file_mode::scan, ec);
  if (ec) return std::nullopt;
  const auto size = body.size();
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                      std::make_tuple(http::status::ok, req.version())};
  res.set(http::field::content_type, file.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.content_length(size);
  return finish(req, std::move(res));
}

// Why a request could not be read, as its answer (RFC 9110 15.5).
struct Refusal {
  http::status status;
  std::string_view code;
  std::string message;
};

// The answer to a read that failed, or nullopt when the connection just ended (closed, reset,
// timed out) and nobody waits for one. `start_line_read`: the parser got past the request line.
std::optional<Refusal> refusal_for(beast::error_code ec, bool start_line_read, std::int64_t max_body_bytes) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      &ec.category() != &http::make_error_code(http::error::bad_method).category())
    return std::nullopt;
  if (ec == http::error::body_limit)
    return Refusal{http::status::payload_too_large, error_code::kMessageTooLarge,
                   "the request body exceeds server.max_message_bytes (" + std::to_string(max_body_bytes) + ")"};
  if (ec == http::error::header_limit) {
    if (!start_line_read)
      return Refusal{http::status::uri_too_long, error_code::kTargetTooLong,
                     "the request target is longer than " + std::to_string(kMaxTargetBytes) + " bytes"};
    return Refusal{http::status::request_header_fields_too_large, error_code::kHeadersTooLarge,
                   "the request's header fields are too large"};
  }
  return Refusal{http::status::bad_request, error_code::kBadRequest, "malformed HTTP request: " + ec.message()};
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
  if (ec) {
    spdlog::debug("http read: {}", ec.message());
    if (const auto r = refusal_for(ec, !parser_->get().target().empty(), state_->config().server.max_message_bytes))
      return refuse(r->status, r->code, r->message);
    return do_close();
  }
  Request req = parser_->release();
  handle(std::move(req));
}

bool HttpSession::handle(Request&& req) {
  const std::string_view target = req.target();
  const std::string_view path = path_of(target);
  const std::string_view authorization = req[http::field::authorization];
  if (state_->stopping()) {
    req.keep_alive(false);
    send(error_response(req, http::status::service_unavailable, error_code::kShutdown, "the daemon is shutting down"));
    return true;
  }
  if (target.size() > kMaxTargetBytes) {
    send(error_response(req, http::status::uri_too_long, error_code::kTargetTooLong,
                        "the request target is longer than " + std::to_string(kMaxTargetBytes) + " bytes"));
    return true;
  }
  if (req.version() != 10 && req.version() != 11) {
    req.version(11);
    req.keep_alive(false);
    send(error_response(req, http::status::http_version_not_supported, error_code::kVersionNotSupported,
                        "heartstreamd speaks HTTP/1.0 and HTTP/1.1"));
    return true;
  }
  if (!known_method(req.method())) {
    send(error_response(req, http::status::not_implemented, error_code::kNotImplemented,
                        "unknown method " + std::string(req.method_string())));
    return true;
  }
  if (beast::websocket::is_upgrade(req)) {
    if (path != kStreamPath) {
      send(error_response(req, http::status::not_found, error_code::kNotFound, "WebSocket is served at /v1/stream"));
    } else if (!state_->authorized_websocket(authorization, target)) {
      send(error_response(req, http::status::unauthorized, error_code::kUnauthorized, "a valid bearer token is required"));
    } else {
      std::make_shared<WebsocketSession>(stream_.release_socket(), state_, std::move(slot_))->run(std::move(req));
      return false;
    }
    return true;
  }
  const bool api = path == "/metrics" || path.rfind("/v1/", 0) == 0;
  if (api && !state_->authorized(authorization)) {
    send(error_response(req, http::status::unauthorized, error_code::kUnauthorized, "a valid bearer token is required"));
    return true;
  }
  const std::optional<StaticFile> file = api ? std::nullopt : state_->static_files().find(target);
  const std::string_view allowed = allowed_methods(path, file.has_value());
  if (allowed.empty()) {
    send(error_response(req, http::status::not_found, error_code::kNotFound, "no such page: " + std::string(path)));
  } else if (!allows(allowed, req.method())) {
    send(error_response(req, http::status::method_not_allowed, error_code::kMethodNotAllowed,
                        std::string(req.method_string()) + " is not allowed on " + std::string(path),
                        {http::field::allow, allowed}));
  } else if (path == "/healthz") {
    send(text_response(req, http::status::ok, kPlainText, "ok\n"));
  } else if (path == "/readyz") {
    const EngineWorker::Readiness readiness = state_->engines().readiness();
    send(text_response(req, readiness.ready ? http::status::ok : http::status::service_unavailable, kPlainText,
                       readiness.reason + "\n"));
  } else if (path == "/metrics") {
    state_->metrics().set_connections_open(state_->connection_limits().open());
    send(text_response(req, http::status::ok, kPrometheusText, state_->metrics().prometheus_text()));
  } else if (path == "/v1/info") {
    send(text_response(req, http::status::ok, kJson, state_->info_json()));
  } else if (path == kStreamPath) {
    send(error_response(req, http::status::upgrade_required, error_code::kUpgradeRequired,
                        "/v1/stream is a WebSocket", {http::field::upgrade, "websocket"}));
  } else if (path == "/v1/generate") {
    try {
      SongParams params = parse_generate_body(req.body(), state_->config().generation);
      std::make_shared<GenerateResponse>(std::move(stream_), state_, std::move(slot_), req.version())->start(std::move(params));
      return false;
    } catch (const ProtocolError& e) {
      state_->metrics().rejected_invalid();
      send(error_response(req, http::status::bad_request, e.code(), e.what()));
    }
  } else if (auto response = file_response(req, *file)) {
    send(std::move(*response));
  } else {
    send(error_response(req, http::status::not_found, error_code::kNotFound, "no such page: " + std::string(path)));
  }
  return true;
}

void HttpSession::refuse(http::status status, std::string_view code, const std::string& message) {
  Request req;
  req.version(11);
  req.keep_alive(false);
  linger_ = true;
  send(error_response(req, status, code, message));
}

void HttpSession::linger_close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.expires_after(kLingerTimeout);
  drain(0);
}

void HttpSession::drain(std::size_t dropped) {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(kLingerReadBytes),
                          [self = shared_from_this(), dropped](beast::error_code ec, std::size_t bytes) {
                            if (ec || dropped + bytes > kLingerBytes) return self->do_close();
                            self->drain(dropped + bytes);
                          });
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
  if (!keep_alive) return linger_ ? linger_close() : do_close();
  do_read();
}

void HttpSession::do_close() {
  slot_ = {};  // before the socket closes: a client that sees the close may connect again at once
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  stream_.close();
}

}  // namespace hs::daemon
