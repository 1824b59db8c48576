// A live client connection, as the shared state sees it: something to tell that the daemon is
// stopping (it then flushes what it owes the client and closes); and how its timeouts are read.
#pragma once

#include <chrono>

namespace hs::daemon {

// A timeout given in the configuration's seconds (server.*_timeout_s), as a clock duration.
inline std::chrono::steady_clock::duration timeout_from_seconds(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

class Connection {
 public:
  virtual ~Connection() = default;
  // Thread-safe: posts the shutdown onto the connection's own strand.
  virtual void shut_down() = 0;
};

}  // namespace hs::daemon
