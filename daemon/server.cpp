#include "daemon/server.h"

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "daemon/listener.h"
#include "daemon/shared_state.h"

namespace hs::daemon {

namespace net = boost::asio;

namespace {

// After shutdown() the I/O threads get this long to flush and close connections before they are
// stopped regardless.
constexpr auto kShutdownGrace = std::chrono::seconds(5);

std::filesystem::path web_root_for(const DaemonConfig& config) {
  if (!config.server.web_root.empty()) return config.server.web_root;
  return HEARTSTREAM_WEB_ROOT;  // the source tree's clients/web (CMake)
}

}  // namespace

struct Server::Impl {
  Impl(const DaemonConfig& config, EnginePool& engines, Metrics& metrics)
      : ioc(config.server.threads),
        state(std::make_shared<SharedState>(config, engines, metrics, web_root_for(config))),
        listener(std::make_shared<Listener>(
            ioc, net::ip::tcp::endpoint(net::ip::make_address(config.server.bind), static_cast<unsigned short>(config.server.port)),
            state)),
        signals(ioc) {}

  net::io_context ioc;
  std::shared_ptr<SharedState> state;
  std::shared_ptr<Listener> listener;
  net::signal_set signals;
  std::vector<std::thread> threads;

  std::mutex mutex;  // guards shutting_down, draining, drainer, threads_done
  std::condition_variable done;
  bool shutting_down = false;
  bool draining = false;
  bool threads_done = false;
  std::thread watchdog;
  std::thread drainer;  // waits for the running songs, then shuts down
};

Server::Server(const DaemonConfig& config, EnginePool& engines, Metrics& metrics)
    : impl_(std::make_unique<Impl>(config, engines, metrics)) {}

Server::~Server() {
  shutdown();
  wait();
}

unsigned short Server::port() const { return impl_->listener->port(); }

std::string Server::url() const {
  std::string host = impl_->state->config().server.bind;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port()) + "/";
}

void Server::start() {
  impl_->listener->run();
  const int threads = impl_->state->config().server.threads;
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

void Server::stop_on_signals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("heartstreamd: signal {}: draining (a second signal shuts down at once)", signal);
    drain();
    impl_->signals.async_wait([this](boost::system::error_code ec2, int signal2) {
      if (ec2) return;
      spdlog::info("heartstreamd: signal {}: shutting down", signal2);
      shutdown();
    });
  });
}

void Server::drain() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->shutting_down || impl_->draining) return;
  impl_->draining = true;
  EnginePool& engines = impl_->state->engines();
  engines.drain();
  const double timeout_s = impl_->state->config().server.drain_timeout_s;
  spdlog::info("heartstreamd: {}; waiting up to {} s (server.drain_timeout_s)", engines.readiness().reason, timeout_s);
  impl_->drainer = std::thread([this, &engines, timeout_s] {
    if (!engines.wait_idle(std::chrono::duration<double>(timeout_s)))
      spdlog::warn("heartstreamd: {} after server.drain_timeout_s; ending them", engines.readiness().reason);
    shutdown();
  });
}

void Server::shutdown() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->shutting_down) return;
    impl_->shutting_down = true;
  }
  impl_->listener->stop();
  impl_->state->engines().shutdown();  // every song's final `error` is posted to its connection
  impl_->state->shut_down_all();      // ... and is flushed before each connection closes
  net::post(impl_->ioc, [this] {
    boost::system::error_code ec;
    impl_->signals.cancel(ec);
  });
  impl_->watchdog = std::thread([this] {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->done.wait_for(lock, kShutdownGrace, [this] { return impl_->threads_done; })) {
      spdlog::warn("heartstreamd: connections still open after {} s; stopping anyway", kShutdownGrace.count());
      impl_->ioc.stop();
    }
  });
}

void Server::wait() {
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->threads_done = true;
  }
  impl_->done.notify_all();
  // The drainer first: when it is what shut down, it is the thread that started the watchdog.
  std::thread drainer;
  {
    std::lock_guard lock(impl_->mutex);
    drainer = std::move(impl_->drainer);
  }
  if (drainer.joinable()) drainer.join();
  if (impl_->watchdog.joinable() && impl_->watchdog.get_id() != std::this_thread::get_id()) impl_->watchdog.join();
}

}  // namespace hs::daemon
