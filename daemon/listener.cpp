#include "daemon/listener.h"

#include <boost/asio/dispatch.hpp>
#include <spdlog/spdlog.h>

#include "daemon/http_session.h"
#include "daemon/refused_connection.h"
#include "engine/core/error.h"

namespace hs::daemon {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<SharedState> state)
    : ioc_(ioc), strand_(net::make_strand(ioc)), acceptor_(strand_), state_(std::move(state)), backoff_timer_(strand_) {
  boost::system::error_code ec;
  const auto fail = [&](const char* what) {
    throw Error("cannot " + std::string(what) + " " + endpoint.address().to_string() + ":" +
                std::to_string(endpoint.port()) + ": " + ec.message());
  };
  if (acceptor_.open(endpoint.protocol(), ec)) fail("open a socket for");
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) fail("set SO_REUSEADDR on");
  if (acceptor_.bind(endpoint, ec)) fail("bind");
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) fail("listen on");
  port_ = acceptor_.local_endpoint().port();
}

void Listener::run() { do_accept(); }

void Listener::stop() {
  net::post(strand_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_timer_.cancel();
  });
}

void Listener::do_accept() {
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(ioc_), net::bind_executor(strand_, [self = shared_from_this()](
                                                                                 auto ec, tcp::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         }));
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    const AcceptBackoff::Step step = backoff_.on_error(ec.value(), ec.message(), AcceptBackoff::Clock::now());
    if (step.log) spdlog::warn("{}", *step.log);
    if (step.pause.count() > 0) {
      backoff_timer_.expires_after(step.pause);
      backoff_timer_.async_wait([self = shared_from_this()](boost::system::error_code timer_ec) {
        if (!timer_ec && self->acceptor_.is_open()) self->do_accept();
      });
      return;
    }
  } else {
    backoff_.on_success();
    admit(std::move(socket));
  }
  do_accept();
}

void Listener::admit(tcp::socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;  // the client has already gone
  std::string why;
  auto slot = state_->connection_limits().admit(peer.address().to_string(), why);
  if (!slot) {
    spdlog::debug("refused a connection from {}: {}", peer.address().to_string(), why);
    return refuse_connection(std::move(socket), why);
  }
  std::make_shared<HttpSession>(std::move(socket), state_, std::move(*slot))->run();
}

}  // namespace hs::daemon
