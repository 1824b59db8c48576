// A connection over server.max_connections or server.max_connections_per_address: answered at
// once, without reading its request, with `503` and a JSON `error` {code: "too_many_connections"},
// then closed. What the client already sent is read and dropped for at most a second after the
// answer, so the close does not turn into a reset that could discard the answer.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace hs::daemon {

void refuse_connection(boost::asio::ip::tcp::socket&& socket, const std::string& why);

}  // namespace hs::daemon
