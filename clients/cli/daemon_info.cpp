#include "clients/cli/daemon_info.h"

#include <exception>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "engine/core/error.h"

namespace hs::cli {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;

namespace {
constexpr int kHttp11 = 11;
constexpr const char* kInfoTarget = "/v1/info";
}  // namespace

json::object fetch_daemon_info(const StreamUrl& url, const std::string& token) {
  const std::string where = "http://" + url.host + ":" + url.port + kInfoTarget;
  http::response<http::string_body> res;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(net::ip::tcp::resolver(ioc).resolve(url.host, url.port));
    http::request<http::empty_body> req{http::verb::get, kInfoTarget, kHttp11};
    req.set(http::field::host, url.host + ":" + url.port);
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::read(stream, buffer, res);
    beast::error_code ignored;  // the answer is in; how the socket closes changes nothing
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  } catch (const beast::system_error& e) {
    throw Error("cannot reach heartstreamd at " + where + ": " + e.code().message());
  }
  if (res.result() != http::status::ok)
    throw Error(where + " answered " + std::to_string(res.result_int()) + ": " + res.body());
  try {
    return json::parse(res.body()).as_object();
  } catch (const std::exception& e) {
    throw Error(where + " did not answer a JSON object: " + e.what());
  }
}

}  // namespace hs::cli
