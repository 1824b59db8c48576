// An in-process heartstreamd for tests: the demo checkpoint (written once per test binary into a
// temporary folder), an engine worker and a server on an ephemeral port of 127.0.0.1.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "daemon/config.h"
#include "daemon/engine_pool.h"
#include "daemon/metrics.h"
#include "daemon/server.h"

namespace hs::test {

// The demo checkpoint folder (model.version "demo"), written on first use.
const std::filesystem::path& demo_checkpoint();

class TestDaemon {
 public:
  // Config for tests: demo model, port 0, a look-ahead long enough never to pause a test song;
  // `tweak` adjusts it before the daemon starts.
  explicit TestDaemon(const std::function<void(daemon::DaemonConfig&)>& tweak = {});
  ~TestDaemon();

  unsigned short port() const { return server_->port(); }
  daemon::Metrics& metrics() { return metrics_; }
  const daemon::DaemonConfig& config() const { return config_; }
  // Clean shutdown at once; returns when the server's threads have ended.
  void shutdown();
  // The drain of SIGTERM (Server::drain); returns at once.
  void drain() { server_->drain(); }
  // Returns when the server's threads have ended (after a drain: once it has shut down).
  void wait() { server_->wait(); }

 private:
  daemon::DaemonConfig config_;
  daemon::Metrics metrics_;
  std::unique_ptr<daemon::EnginePool> engines_;
  std::unique_ptr<daemon::Server> server_;
};

}  // namespace hs::test
