// What the listener does after a failed accept (Beast-free, so tests drive it with injected
// errors). Running out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM) pauses
// accepting — 10 ms, doubling up to 250 ms while it lasts — so the loop never spins, existing
// clients keep being served, and new ones (/healthz) are accepted again soon after descriptors are
// free. Other errors (ECONNABORTED: the peer left first) retry at once. Either way at most one log
// line per 10 s, counting the errors it stands for.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hs::daemon {

class AcceptBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto kFirstPause = std::chrono::milliseconds(10);
  static constexpr auto kMaxPause = std::chrono::milliseconds(250);
  static constexpr auto kLogInterval = std::chrono::seconds(10);

  struct Step {
    std::chrono::milliseconds pause{0};  // wait this long before the next accept
    std::optional<std::string> log;      // a line to log, at most one per kLogInterval
  };

  // `error` is the errno value, `message` its text.
  Step on_error(int error, std::string_view message, Clock::time_point now);
  // An accept succeeded: the next resource error starts again at kFirstPause.
  void on_success() { pause_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds pause_{0};
  std::optional<Clock::time_point> last_log_;
  long unlogged_ = 0;  // errors since the last line
};

}  // namespace hs::daemon
