#include "daemon/accept_backoff.h"

#include <algorithm>
#include <cerrno>

namespace hs::daemon {

namespace {

bool out_of_resources(int error) { return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM; }

}  // namespace

AcceptBackoff::Step AcceptBackoff::on_error(int error, std::string_view message, Clock::time_point now) {
  Step step;
  if (out_of_resources(error)) {
    pause_ = pause_.count() == 0 ? kFirstPause : std::min(pause_ * 2, std::chrono::milliseconds(kMaxPause));
    step.pause = pause_;
  }
  ++unlogged_;
  if (!last_log_ || now - *last_log_ >= kLogInterval) {
    std::string line = "accept: " + std::string(message);
    if (unlogged_ > 1) line += " (" + std::to_string(unlogged_) + " accept errors since the last report)";
    if (step.pause.count() > 0) line += "; pausing new connections while it lasts (existing ones are served)";
    step.log = std::move(line);
    last_log_ = now;
    unlogged_ = 0;
  }
  return step;
}

}  // namespace hs::daemon
