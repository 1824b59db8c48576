// How long the oldest byte handed to a socket has waited for the peer to take it. A client that
// stops reading shows up here even while the socket's send buffer (auto-tuned to megabytes) still
// has room — the daemon's own send queue only fills once the kernel's buffer is full. The kernel's
// count of unacknowledged bytes (SIOCOUTQ) says how far the peer has got. Beast-free.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

namespace hs::daemon {

class SendBacklog {
 public:
  using Clock = std::chrono::steady_clock;

  // `bytes` more were handed to the socket at `now`.
  void wrote(std::size_t bytes, Clock::time_point now);
  // The age of the oldest byte the peer has not acknowledged yet (zero when none), given the
  // socket's count of such bytes.
  Clock::duration oldest_pending(std::size_t unacknowledged_bytes, Clock::time_point now);

 private:
  struct Write {
    std::uint64_t end;  // bytes written up to and including this write
    Clock::time_point at;
  };
  std::deque<Write> writes_;  // writes not yet wholly acknowledged, oldest first
  std::uint64_t written_ = 0;
};

// The bytes a connected TCP socket holds that its peer has not acknowledged (SIOCOUTQ); 0 when the
// kernel cannot say.
std::size_t unacknowledged_bytes(int socket_fd);

}  // namespace hs::daemon
