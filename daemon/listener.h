// Accepts TCP connections and hands each to an HttpSession (Beast chat-multi's listener), with a
// slot of the connection limits; a connection over a limit gets a 503 instead. Accept errors go
// through AcceptBackoff: out of descriptors, it pauses instead of spinning.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "daemon/accept_backoff.h"
#include "daemon/shared_state.h"

namespace hs::daemon {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens; throws Error naming the endpoint when that fails.
  Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           std::shared_ptr<SharedState> state);

  void run();
  // Stops accepting (thread-safe).
  void stop();
  unsigned short port() const { return port_; }

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void admit(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<SharedState> state_;
  boost::asio::steady_timer backoff_timer_;  // strand only
  AcceptBackoff backoff_;                    // strand only
  unsigned short port_ = 0;
};

}  // namespace hs::daemon
