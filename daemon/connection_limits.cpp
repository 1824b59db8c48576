#include "daemon/connection_limits.h"

namespace hs::daemon {

ConnectionLimits::Slot::Slot(std::shared_ptr<ConnectionLimits> limits, std::string address)
    : limits_(std::move(limits)), address_(std::move(address)) {}

ConnectionLimits::Slot& ConnectionLimits::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    limits_ = std::move(other.limits_);
    address_ = std::move(other.address_);
  }
  return *this;
}

ConnectionLimits::Slot::~Slot() { release(); }

void ConnectionLimits::Slot::release() {
  if (limits_) limits_->release(address_);
  limits_.reset();
}

ConnectionLimits::ConnectionLimits(int max_total, int max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

std::optional<ConnectionLimits::Slot> ConnectionLimits::admit(const std::string& address, std::string& why) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) {
    why = std::to_string(max_total_) + " connections are open (server.max_connections); try again later";
    return std::nullopt;
  }
  int& from_address = per_address_[address];
  if (from_address >= max_per_address_) {
    why = std::to_string(max_per_address_) + " connections are open from " + address +
          " (server.max_connections_per_address); close some first";
    return std::nullopt;
  }
  ++total_;
  ++from_address;
  return Slot(shared_from_this(), address);
}

int ConnectionLimits::open() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ConnectionLimits::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  --total_;
  const auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

}  // namespace hs::daemon
