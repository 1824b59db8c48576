// The network half of heartstreamd: an Asio io_context on server.threads threads, the listener,
// the shared state; a drain on SIGINT/SIGTERM (no new songs, running ones get
// server.drain_timeout_s to finish), then a clean shutdown (every song still running gets a final
// `error` {code: shutdown}, every connection is flushed and closed). Beast stays inside server.cpp,
// so main and the tests include only this.
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"
#include "daemon/engine_pool.h"
#include "daemon/metrics.h"

namespace hs::daemon {

class Server {
 public:
  // Binds server.bind:server.port (Error naming the address when that fails). `engines` and
  // `metrics` must outlive the server.
  Server(const DaemonConfig& config, EnginePool& engines, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  unsigned short port() const;
  // "http://127.0.0.1:8080/"
  std::string url() const;

  // Starts serving on the I/O threads.
  void start();
  // Drains on SIGINT or SIGTERM; a second signal shuts down at once.
  void stop_on_signals();
  // Stops admitting songs (new ones get error {code: shutdown}, /readyz answers 503 "draining"
  // while /healthz and /metrics go on), lets running songs finish for up to
  // server.drain_timeout_s, then shutdown(). Returns at once; thread-safe, idempotent.
  void drain();
  // Stops accepting, ends every song (the workers shut down), flushes and closes every connection;
  // the I/O threads end once that is done (or after a grace period). Thread-safe, idempotent.
  void shutdown();
  // Blocks until the I/O threads have ended.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hs::daemon
