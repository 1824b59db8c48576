#include "daemon/send_backlog.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

namespace hs::daemon {

void SendBacklog::wrote(std::size_t bytes, Clock::time_point now) {
  if (bytes == 0) return;
  written_ += bytes;
  writes_.push_back({written_, now});
}

SendBacklog::Clock::duration SendBacklog::oldest_pending(std::size_t unacknowledged_bytes, Clock::time_point now) {
  const std::uint64_t acknowledged = unacknowledged_bytes >= written_ ? 0 : written_ - unacknowledged_bytes;
  while (!writes_.empty() && writes_.front().end <= acknowledged) writes_.pop_front();
  if (writes_.empty() || unacknowledged_bytes == 0) return Clock::duration::zero();
  return now - writes_.front().at;
}

std::size_t unacknowledged_bytes(int socket_fd) {
  int bytes = 0;
  if (::ioctl(socket_fd, SIOCOUTQ, &bytes) != 0 || bytes < 0) return 0;
  return static_cast<std::size_t>(bytes);
}

}  // namespace hs::daemon
