// A live client connection, as the shared state sees it: something to tell that the daemon is
// stopping (it then flushes what it owes the client and closes).
#pragma once

namespace hs::daemon {

class Connection {
 public:
  virtual ~Connection() = default;
  // Thread-safe: posts the shutdown onto the connection's own strand.
  virtual void shut_down() = 0;
};

}  // namespace hs::daemon
