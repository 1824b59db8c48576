// One HTTP connection (Beast chat-multi's http_session): reads requests one at a time and answers
// GET /, the web client's files, /healthz, /metrics, /v1/info; hands POST /v1/generate to a
// GenerateResponse and a WebSocket upgrade of /v1/stream to a WebsocketSession.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/connection.h"
#include "daemon/shared_state.h"

namespace hs::daemon {

class HttpSession : public std::enable_shared_from_this<HttpSession>, public Connection {
 public:
  // `slot` is the connection's place under the connection limits; it goes with the socket.
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state, ConnectionLimits::Slot slot);
  ~HttpSession() override;

  void run();
  void shut_down() override;

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // Waits up to server.http_idle_timeout_s for a request's first bytes, then gives the whole
  // request server.request_timeout_s.
  void do_read();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void read_request();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  // Answers `req`; returns false when the connection was handed to another class.
  bool handle(Request&& req);
  // Answers a request that could not be read (malformed, too large), then lingers and closes.
  void refuse(boost::beast::http::status status, std::string_view code, const std::string& message);
  // Stops sending, drops what the client still sends (bounded in time and bytes), then closes.
  void linger_close();
  void drain(std::size_t dropped);
  void send(boost::beast::http::message_generator&& response);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<SharedState> state_;
  ConnectionLimits::Slot slot_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool idle_ = false;      // waiting for a request: a shutdown may close at once
  bool stopping_ = false;  // close after the response in progress
  bool linger_ = false;    // the response in progress refuses an unread request: linger_close after it
};

}  // namespace hs::daemon
