// What every connection shares (Beast chat-multi's shared_state): the configuration, the engine
// worker, the metrics, the web root, the connection limits, and the registry of live connections
// used at shutdown.
// Beast-free, so tests and main can include it cheaply.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "daemon/config.h"
#include "daemon/connection.h"
#include "daemon/connection_limits.h"
#include "daemon/engine_worker.h"
#include "daemon/metrics.h"

namespace hs::daemon {

class SharedState {
 public:
  SharedState(DaemonConfig config, EngineWorker& worker, Metrics& metrics, std::filesystem::path web_root);

  const DaemonConfig& config() const { return config_; }
  EngineWorker& worker() const { return *worker_; }
  Metrics& metrics() const { return *metrics_; }
  const std::filesystem::path& web_root() const { return web_root_; }
  ConnectionLimits& connection_limits() const { return *connection_limits_; }

  // True when no token is configured, or `authorization` is "Bearer <token>", or (for browsers,
  // which cannot set headers on a WebSocket) the request target's query holds token=<token>.
  bool authorized(std::string_view authorization, std::string_view target) const;
  // GET /v1/info: model, device, stream format, limits and defaults (JSON).
  std::string info_json() const;

  void join(const std::shared_ptr<Connection>& connection);
  void leave(const Connection* connection);
  // Marks the daemon as stopping and tells every live connection.
  void shut_down_all();
  bool stopping() const;

 private:
  DaemonConfig config_;
  EngineWorker* worker_;
  Metrics* metrics_;
  std::filesystem::path web_root_;
  std::shared_ptr<ConnectionLimits> connection_limits_;
  mutable std::mutex mutex_;  // guards connections_ and stopping_
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> connections_;
  bool stopping_ = false;
};

}  // namespace hs::daemon
