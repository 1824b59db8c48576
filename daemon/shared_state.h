// What every connection shares (Beast chat-multi's shared_state): the configuration, the engine
// workers, the metrics, the web client's files, the connection limits, and the registry of live
// connections used at shutdown.
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
#include "daemon/engine_pool.h"
#include "daemon/metrics.h"
#include "daemon/static_files.h"

namespace hs::daemon {

class SharedState {
 public:
  SharedState(DaemonConfig config, EnginePool& engines, Metrics& metrics, std::filesystem::path web_root);

  const DaemonConfig& config() const { return config_; }
  EnginePool& engines() const { return *engines_; }
  Metrics& metrics() const { return *metrics_; }
  const StaticFiles& static_files() const { return static_files_; }
  ConnectionLimits& connection_limits() const { return *connection_limits_; }

  // True when no token is configured, or `authorization` is "Bearer <token>" (the scheme in any
  // case, RFC 9110 11.1); the token is compared in time that does not depend on where it differs.
  bool authorized(std::string_view authorization) const;
  // The same for the WebSocket upgrade of /v1/stream, where the target's query may hold
  // token=<token> instead: browsers cannot set headers on a WebSocket. Only there: a token in a
  // URL ends up in logs and histories.
  bool authorized_websocket(std::string_view authorization, std::string_view target) const;
  // GET /v1/info: model, device, stream format, limits, defaults, the songs running and queued, and
  // each engine worker's device, model and songs (JSON).
  std::string info_json() const;

  void join(const std::shared_ptr<Connection>& connection);
  void leave(const Connection* connection);
  // Marks the daemon as stopping and tells every live connection.
  void shut_down_all();
  bool stopping() const;

 private:
  DaemonConfig config_;
  EnginePool* engines_;
  Metrics* metrics_;
  StaticFiles static_files_;
  std::shared_ptr<ConnectionLimits> connection_limits_;
  mutable std::mutex mutex_;  // guards connections_ and stopping_
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> connections_;
  bool stopping_ = false;
};

}  // namespace hs::daemon
