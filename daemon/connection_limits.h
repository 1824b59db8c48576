// Counts open client connections, in total and per client address (server.max_connections,
// server.max_connections_per_address). The listener asks for a slot for each accepted socket; the
// slot travels with the socket (HttpSession → WebsocketSession or GenerateResponse) and gives its
// place back when the last holder is destroyed. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace hs::daemon {

class ConnectionLimits : public std::enable_shared_from_this<ConnectionLimits> {
 public:
  // One admitted connection's place; movable, released on destruction.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();

   private:
    friend class ConnectionLimits;
    Slot(std::shared_ptr<ConnectionLimits> limits, std::string address);
    void release();

    std::shared_ptr<ConnectionLimits> limits_;
    std::string address_;
  };

  ConnectionLimits(int max_total, int max_per_address);

  // A slot for a new connection from `address`; nullopt when a limit is reached, and then `why`
  // says which, naming its configuration key.
  std::optional<Slot> admit(const std::string& address, std::string& why);
  int open() const;

 private:
  void release(const std::string& address);

  const int max_total_;
  const int max_per_address_;
  mutable std::mutex mutex_;  // guards total_, per_address_
  int total_ = 0;
  std::unordered_map<std::string, int> per_address_;
};

}  // namespace hs::daemon
