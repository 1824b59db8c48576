#include "tests/daemon/test_daemon.h"

#include <unistd.h>

#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"

namespace hs::test {

namespace {

// Test songs never get this far ahead of real time, so pacing does not slow them down.
constexpr double kTestLookaheadS = 3600.0;

// The demo checkpoint in a temporary folder, removed at exit.
class DemoFolder {
 public:
  DemoFolder() : path_(std::filesystem::temp_directory_path() / ("hs_daemon_demo_" + std::to_string(::getpid()))) {
    CpuBackend backend;
    write_demo_checkpoint(path_, backend);
  }
  ~DemoFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

const std::filesystem::path& demo_checkpoint() {
  static const DemoFolder folder;
  return folder.path();
}

TestDaemon::TestDaemon(const std::function<void(daemon::DaemonConfig&)>& tweak) {
  config_.server.port = 0;
  config_.model.path = demo_checkpoint().string();
  config_.model.version = std::string(kDemoVersion);
  config_.streaming.lookahead_s = kTestLookaheadS;
  config_.logging.level = "warn";
  if (tweak) tweak(config_);
  engines_ = std::make_unique<daemon::EnginePool>(config_, metrics_);
  server_ = std::make_unique<daemon::Server>(config_, *engines_, metrics_);
  server_->start();
}

TestDaemon::~TestDaemon() { shutdown(); }

void TestDaemon::shutdown() {
  if (!server_) return;
  server_->shutdown();
  server_->wait();
}

}  // namespace hs::test
