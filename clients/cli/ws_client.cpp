#include "clients/cli/ws_client.h"

#include <csignal>
#include <exception>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "engine/core/error.h"

namespace hs::cli {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view kScheme = "ws://";
constexpr std::string_view kDefaultTarget = "/v1/stream";
constexpr std::string_view kDefaultPort = "80";

// One song over an open WebSocket: reads until done/error, sends `cancel` on the first signal.
class SongStream {
 public:
  SongStream(websocket::stream<beast::tcp_stream>& ws, net::io_context& ioc, const StreamHandlers& handlers)
      : ws_(ws), signals_(ioc, SIGINT, SIGTERM), handlers_(handlers) {}

  json::object run(net::io_context& ioc) {
    signals_.async_wait([this](const beast::error_code& ec, int) { on_signal(ec); });
    read();
    ioc.run();
    if (failure_) std::rethrow_exception(failure_);
    return *end_;
  }

 private:
  void read() {
    ws_.async_read(buffer_, [this](const beast::error_code& ec, std::size_t) { on_read(ec); });
  }

  void on_read(const beast::error_code& ec) {
    try {
      if (ec) throw Error("the connection ended before the song did: " + ec.message());
      const auto data = buffer_.cdata();
      if (ws_.got_binary()) {
        if (handlers_.on_packet) handlers_.on_packet({static_cast<const std::uint8_t*>(data.data()), data.size()});
      } else if (handle_event(json::parse({static_cast<const char*>(data.data()), data.size()}).as_object())) {
        signals_.cancel();
        return;
      }
      buffer_.consume(buffer_.size());
      read();
    } catch (const std::exception&) {
      failure_ = std::current_exception();
      signals_.cancel();
    }
  }

  // Returns true for the song's last message.
  bool handle_event(json::object event) {
    const json::string& type = event.at("type").as_string();
    if (type == "started") call(handlers_.on_started, event);
    if (type == "progress") call(handlers_.on_progress, event);
    if (type == "queued") call(handlers_.on_queued, event);
    if (type != "done" && type != "error") return false;
    end_ = std::move(event);
    return true;
  }

  static void call(const std::function<void(const json::object&)>& handler, const json::object& event) {
    if (handler) handler(event);
  }

  void on_signal(const beast::error_code& ec) {
    if (ec) return;
    signals_.clear();  // the default action again: a second signal ends the process
    cancel_ = R"({"type":"cancel"})";
    ws_.text(true);
    ws_.async_write(net::buffer(cancel_), [this](const beast::error_code& wec, std::size_t) {
      if (wec && !failure_) failure_ = std::make_exception_ptr(Error("cannot send cancel: " + wec.message()));
    });
  }

  websocket::stream<beast::tcp_stream>& ws_;
  net::signal_set signals_;
  const StreamHandlers& handlers_;
  beast::flat_buffer buffer_;
  std::string cancel_;
  std::optional<json::object> end_;
  std::exception_ptr failure_;
};

}  // namespace

StreamUrl parse_stream_url(const std::string& url) {
  if (!url.starts_with(kScheme))
    throw InvalidArgument("--url '" + url + "': expected ws://HOST:PORT[/PATH] (wss:// is not supported)");
  const std::string rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  StreamUrl u;
  u.target = slash == std::string::npos ? std::string(kDefaultTarget) : rest.substr(slash);
  const std::size_t colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  u.port = colon == std::string::npos ? std::string(kDefaultPort) : authority.substr(colon + 1);
  if (u.host.empty() || u.port.empty()) throw InvalidArgument("--url '" + url + "': no host or port");
  return u;
}

json::object stream_song(const StreamUrl& url, const std::string& token, const json::object& generate,
                         const StreamHandlers& handlers) {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  const std::string where = "ws://" + url.host + ":" + url.port + url.target;
  try {
    tcp::resolver resolver(ioc);
    beast::get_lowest_layer(ws).connect(resolver.resolve(url.host, url.port));
    ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
      if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
    }));
    ws.handshake(url.host + ":" + url.port, url.target);
    ws.text(true);
    ws.write(net::buffer(json::serialize(generate)));
    if (handlers.on_generate_sent) handlers.on_generate_sent();
  } catch (const beast::system_error& e) {
    throw Error("cannot stream from " + where + ": " + e.code().message());
  }
  SongStream song(ws, ioc, handlers);
  json::object end = song.run(ioc);
  beast::error_code ignored;  // the song is complete; a failed close handshake changes nothing
  ws.close(websocket::close_code::normal, ignored);
  return end;
}

}  // namespace hs::cli
