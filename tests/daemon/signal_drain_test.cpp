// The heartstreamd binary on signals: SIGTERM drains (readiness says so, the song goes on), a
// second SIGTERM ends the drain at once (the song gets `shutdown`), and the process exits 0.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

extern char** environ;

namespace hs::test {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr auto kStartDeadline = std::chrono::seconds(60);
constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr std::string_view kListening = "listening on http://127.0.0.1:";

// heartstreamd on the demo model, port 0, songs paced close to real time (so one stays running);
// its stdout is read until it names its port.
class DaemonProcess {
 public:
  DaemonProcess() {
    // Everything the child needs is made before the fork: it only redirects and execs.
    const std::string model = demo_checkpoint().string();
    std::vector<std::string> env_strings = {"HEARTSTREAM_STREAMING_LOOKAHEAD_S=0.2", "HEARTSTREAM_LOGGING_LEVEL=warn"};
    for (char** e = environ; *e != nullptr; ++e)
      if (std::string_view(*e).rfind("HEARTSTREAM_", 0) != 0) env_strings.emplace_back(*e);
    std::vector<char*> env;
    for (auto& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    const char* argv[] = {HEARTSTREAMD_BIN, "--model_path", model.c_str(), "--version", "demo", "--port", "0", nullptr};
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::execve(HEARTSTREAMD_BIN, const_cast<char* const*>(argv), env.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_ = out[0];
    port_ = read_port();
  }
  ~DaemonProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(stdout_);
  }

  unsigned short port() const { return port_; }
  void signal(int signal) const { ::kill(pid_, signal); }
  // The exit status, or -1 when it did not exit normally.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  unsigned short read_port() {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + kStartDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kPollInterval.count())) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      const auto at = text.find(kListening);
      if (at != std::string::npos && text.find('/', at + kListening.size()) != std::string::npos)
        return static_cast<unsigned short>(std::stoi(text.substr(at + kListening.size())));
    }
    throw std::runtime_error("heartstreamd did not say where it listens: " + text);
  }

  pid_t pid_ = -1;
  int stdout_ = -1;
  unsigned short port_ = 0;
};

TEST(SignalDrain, FirstSigtermDrainsSecondEndsTheSongsAndTheDaemonExitsZero) {
  DaemonProcess daemon;
  WsClient client(daemon.port());
  client.send_text(json::serialize(json::object{
      {"type", "generate"}, {"tags", "piano"}, {"lyrics", "la"}, {"max_audio_length_ms", 60000}, {"seed", 1}}));
  EXPECT_EQ(client.read_json().at("type"), "started");

  daemon.signal(SIGTERM);
  // The signal is handled on the daemon's own threads: ask until readiness reflects it.
  std::string ready;
  const auto deadline = std::chrono::steady_clock::now() + kClientDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    ready = http_request(daemon.port(), http::verb::get, "/readyz").body;
    if (ready.rfind("draining", 0) == 0) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  EXPECT_EQ(ready, "draining: 1 song running\n");

  // server.drain_timeout_s is 30 s: only the second signal ends the 60 s song this soon.
  daemon.signal(SIGTERM);
  const auto second_signal = std::chrono::steady_clock::now();
  const SongTranscript t = client.read_song();
  EXPECT_EQ(t.end.at("code"), "shutdown") << json::serialize(t.end);
  EXPECT_LT(std::chrono::steady_clock::now() - second_signal, std::chrono::seconds(20));
  EXPECT_THROW(
      while (true) client.read(), boost::system::system_error);
  EXPECT_EQ(daemon.wait(), 0);
}

}  // namespace
}  // namespace hs::test
