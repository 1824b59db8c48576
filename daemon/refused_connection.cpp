#include "daemon/refused_connection.h"

#include <array>
#include <memory>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/protocol.h"

namespace hs::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// The answer and the draining after it take at most this long.
constexpr auto kRefusalTime = std::chrono::seconds(1);
constexpr std::size_t kDrainChunkBytes = 4096;
constexpr std::string_view kTooManyConnections = "too_many_connections";

class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(net::ip::tcp::socket&& socket, const std::string& why) : stream_(std::move(socket)) {
    response_.set(http::field::server, kServerName);
    response_.set(http::field::content_type, "application/json");
    response_.set(http::field::retry_after, "1");
    response_.keep_alive(false);
    response_.body() = error_message(kTooManyConnections, why);
    response_.prepare_payload();
  }

  void run() {
    stream_.expires_after(kRefusalTime);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
      self->drain();
    });
  }

 private:
  void drain() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->drain();  // EOF, the deadline or an error ends it; the socket closes with this object
    });
  }

  beast::tcp_stream stream_;
  http::response<http::string_body> response_{http::status::service_unavailable, 11};
  std::array<char, kDrainChunkBytes> scratch_{};
};

}  // namespace

void refuse_connection(net::ip::tcp::socket&& socket, const std::string& why) {
  std::make_shared<Refusal>(std::move(socket), why)->run();
}

}  // namespace hs::daemon
