// The network half of heartstreamd: an Asio io_context on server.threads threads, the listener,
// the shared state; clean shutdown on request or on SIGINT/SIGTERM (every song gets a final
// `error` {code: shutdown}, every connection is flushed and closed). Beast stays inside server.cpp,
// so main and the tests include only this.
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"
#include "daemon/engine_worker.h"
#include "daemon/metrics.h"

namespace hs::daemon {

class Server {
 public:
  // Binds server.bind:server.port (Error naming the address when that fails). `worker` and
  // `metrics` must outlive the server.
  Server(const DaemonConfig& config, EngineWorker& worker, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  unsigned short port() const;
  // "http://127.0.0.1:8080/"
  std::string url() const;

  // Starts serving on the I/O threads.
  void start();
  // Shuts down cleanly on SIGINT or SIGTERM.
  void stop_on_signals();
  // Stops accepting, ends every song (the worker shuts down), flushes and closes every connection;
  // the I/O threads end once that is done (or after a grace period). Thread-safe, idempotent.
  void shutdown();
  // Blocks until the I/O threads have ended.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hs::daemon
