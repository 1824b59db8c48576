// heartstreamd's limits against hostile or careless clients (issue 17): the connection caps (503),
// accept errors when descriptors run out, the idle and slow-request timeouts of HTTP and
// WebSocket, replies that count against the bounded send queue, and a slow reader hidden behind a
// large socket buffer. Timeouts are tiny in the configuration; each test waits for the daemon's
// own action (a close, an answer) with a generous upper bound, never for a fixed time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/accept_backoff.h"
#include "daemon/connection_limits.h"
#include "daemon/send_backlog.h"
#include "tests/daemon/test_daemon.h"
#include "tests/daemon/ws_test_client.h"

namespace hs::test {
namespace {

namespace json = boost::json;
namespace websocket = boost::beast::websocket;
using namespace std::chrono_literals;

// Far beyond every timeout the tests configure: a daemon that misses one fails, a slow machine does not.
constexpr auto kCloseBound = std::chrono::seconds(20);
constexpr double kTinyTimeoutS = 0.2;
constexpr int kTinySocketBuffer = 4096;

// A blocking POSIX client (no Asio: it must not need descriptors once connected, and it sees the
// daemon's bytes exactly). Reads give up after kCloseBound.
class RawClient {
 public:
  explicit RawClient(unsigned short port, const char* from_address = "127.0.0.1") : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    const timeval bound{.tv_sec = std::chrono::seconds(kCloseBound).count(), .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    sockaddr_in local{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {}, .sin_zero = {}};
    ::inet_pton(AF_INET, from_address, &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error("bind: " + std::string(std::strerror(errno)));
    server_ = sockaddr_in{.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {}, .sin_zero = {}};
    ::inet_pton(AF_INET, "127.0.0.1", &server_.sin_addr);
  }
  // Opens the socket now and connects later (connect() needs no new descriptor).
  RawClient(unsigned short port, bool connect_now) : RawClient(port) {
    if (connect_now) connect();
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void connect() {
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&server_), sizeof server_) != 0)
      throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
  }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  // One HTTP response (status line, headers, a Content-Length body); "" when the connection ended.
  std::string read_response() {
    std::string data;
    std::size_t header_end = std::string::npos;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos)
      if (!read_some(data)) return "";
    std::size_t length = 0;
    const auto field = data.find("Content-Length: ");
    if (field != std::string::npos && field < header_end) length = std::stoul(data.substr(field + 16));
    while (data.size() < header_end + 4 + length)
      if (!read_some(data)) return "";
    return data;
  }
  // True when the daemon closed the connection (EOF or reset) within kCloseBound; what came before
  // the close is dropped.
  bool closed_by_peer() {
    std::string ignored;
    while (read_some(ignored)) ignored.clear();
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }

 private:
  bool read_some(std::string& out) {
    char chunk[4096];
    errno = 0;
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    out.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  sockaddr_in server_{};
};

const std::string kHealthRequest = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

unsigned status_of(const std::string& response) {
  return response.size() > 12 ? static_cast<unsigned>(std::stoul(response.substr(9, 3))) : 0;
}

std::string reason_text(const WsClient& client) {
  const auto reason = client.close_reason().reason;
  return {reason.data(), reason.size()};
}

double slow_reader_closes(TestDaemon& daemon) {
  return metric_value(daemon.metrics().prometheus_text(), "heartstream_slow_reader_closes_total").value_or(0);
}

json::object song(std::int64_t max_audio_length_ms) {
  return {{"type", "generate"}, {"tags", "piano"}, {"lyrics", "[verse] la"}, {"max_audio_length_ms", max_audio_length_ms},
          {"seed", 1}};
}

// Counts the log lines that contain a text, and lets a test wait for the first one.
class LogCounter : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogCounter(std::string needle) : needle_(std::move(needle)) {}
  int count() {
    std::lock_guard lock(counts_mutex_);
    return count_;
  }
  bool wait_for_first() {
    std::unique_lock lock(counts_mutex_);
    return seen_.wait_for(lock, kCloseBound, [this] { return count_ > 0; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (std::string_view(msg.payload.data(), msg.payload.size()).find(needle_) == std::string_view::npos) return;
    {
      std::lock_guard lock(counts_mutex_);
      ++count_;
    }
    seen_.notify_all();
  }
  void flush_() override {}

 private:
  std::string needle_;
  std::mutex counts_mutex_;
  std::condition_variable seen_;
  int count_ = 0;
};

// Counts matching lines of the default logger while it lives (install it before the daemon starts).
class CountedLog {
 public:
  explicit CountedLog(std::string needle) : counter_(std::make_shared<LogCounter>(std::move(needle))) {
    spdlog::default_logger()->sinks().push_back(counter_);
  }
  ~CountedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), counter_), sinks.end());
  }
  CountedLog(const CountedLog&) = delete;
  CountedLog& operator=(const CountedLog&) = delete;
  LogCounter& operator*() const { return *counter_; }
  LogCounter* operator->() const { return counter_.get(); }

 private:
  std::shared_ptr<LogCounter> counter_;
};

// Fills this process's descriptor table: RLIMIT_NOFILE's soft limit just above the highest open
// descriptor, the rest taken by copies of /dev/null. Undone on destruction.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
      highest = std::max(highest, std::stoi(entry.path().filename().string()));
    constexpr rlim_t kHeadroom = 8;
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest) + kHeadroom;
    ::setrlimit(RLIMIT_NOFILE, &lowered);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) taken_.push_back(null_fd);
    for (int fd; null_fd >= 0 && (fd = ::dup(null_fd)) >= 0;) taken_.push_back(fd);
    exhausted_ = errno == EMFILE;
  }
  ~DescriptorsExhausted() { release(); }
  bool exhausted() const { return exhausted_; }
  void release() {
    for (const int fd : taken_) ::close(fd);
    taken_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> taken_;
  bool exhausted_ = false;
};

TEST(ConnectionLimits, CapsTotalAndPerAddressAndGivesSlotsBack) {
  auto limits = std::make_shared<daemon::ConnectionLimits>(3, 2);
  std::string why;
  auto a1 = limits->admit("10.0.0.1", why);
  auto a2 = limits->admit("10.0.0.1", why);
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(limits->admit("10.0.0.1", why));
  EXPECT_NE(why.find("server.max_connections_per_address"), std::string::npos) << why;
  auto b1 = limits->admit("10.0.0.2", why);
  ASSERT_TRUE(b1);
  EXPECT_FALSE(limits->admit("10.0.0.3", why));
  EXPECT_NE(why.find("server.max_connections)"), std::string::npos) << why;
  // A slot moves with its connection and is given back once, when its last holder goes.
  daemon::ConnectionLimits::Slot moved = std::move(*a1);
  a1.reset();
  EXPECT_EQ(limits->open(), 3);
  moved = {};
  EXPECT_EQ(limits->open(), 2);
  EXPECT_TRUE(limits->admit("10.0.0.1", why));  // admitted, and given back at once
  EXPECT_EQ(limits->open(), 2);
}

TEST(AcceptBackoff, OutOfDescriptorsPausesLongerAndLogsOncePerInterval) {
  daemon::AcceptBackoff backoff;
  auto now = daemon::AcceptBackoff::Clock::now();
  const auto first = backoff.on_error(EMFILE, "Too many open files", now);
  EXPECT_EQ(first.pause, daemon::AcceptBackoff::kFirstPause);
  ASSERT_TRUE(first.log);
  EXPECT_NE(first.log->find("Too many open files"), std::string::npos);
  std::chrono::milliseconds pause = first.pause;
  for (int i = 0; i < 20; ++i) {
    now += 1ms;
    const auto step = backoff.on_error(ENFILE, "Too many open files in system", now);
    EXPECT_FALSE(step.log) << "the log is rate-limited";
    EXPECT_GE(step.pause, pause);
    EXPECT_LE(step.pause, daemon::AcceptBackoff::kMaxPause);
    pause = step.pause;
  }
  EXPECT_EQ(pause, daemon::AcceptBackoff::kMaxPause);
  now += daemon::AcceptBackoff::kLogInterval;
  const auto later = backoff.on_error(EMFILE, "Too many open files", now);
  ASSERT_TRUE(later.log);
  EXPECT_NE(later.log->find("21 accept errors"), std::string::npos) << *later.log;
  // A client that gave up before accept is no reason to pause; a success starts the pauses over.
  EXPECT_EQ(backoff.on_error(ECONNABORTED, "Software caused connection abort", now).pause.count(), 0);
  backoff.on_success();
  EXPECT_EQ(backoff.on_error(EMFILE, "Too many open files", now).pause, daemon::AcceptBackoff::kFirstPause);
}

TEST(SendBacklog, AgeOfTheOldestByteThePeerHasNotTaken) {
  daemon::SendBacklog backlog;
  const auto t0 = daemon::SendBacklog::Clock::now();
  backlog.wrote(100, t0);
  backlog.wrote(50, t0 + 1s);
  EXPECT_EQ(backlog.oldest_pending(150, t0 + 3s), 3s);  // nothing taken yet
  EXPECT_EQ(backlog.oldest_pending(50, t0 + 3s), 2s);   // the first write was taken
  EXPECT_EQ(backlog.oldest_pending(0, t0 + 3s), 0s);    // all taken
}

TEST(Limits, ConnectionsOverTheCapsGet503AndSlotsComeBack) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.max_connections = 3;
    c.server.max_connections_per_address = 2;
  });
  RawClient first(daemon.port(), true);
  RawClient second(daemon.port(), true);
  first.send(kHealthRequest);  // answered: both are admitted by now (the listener takes them in order)
  second.send(kHealthRequest);
  ASSERT_EQ(status_of(first.read_response()), 200u);
  ASSERT_EQ(status_of(second.read_response()), 200u);

  RawClient third(daemon.port(), true);  // a third from 127.0.0.1: over the per-address cap
  third.send(kHealthRequest);
  const std::string refused = third.read_response();
  EXPECT_EQ(status_of(refused), 503u) << refused;
  EXPECT_NE(refused.find("\"code\":\"too_many_connections\""), std::string::npos) << refused;
  EXPECT_NE(refused.find("server.max_connections_per_address"), std::string::npos) << refused;
  EXPECT_TRUE(third.closed_by_peer());
  EXPECT_THROW(WsClient{daemon.port()}, boost::system::system_error);  // a WebSocket upgrade too

  RawClient other(daemon.port(), "127.0.0.2");  // another address: admitted, the third in total
  other.connect();
  other.send(kHealthRequest);
  EXPECT_EQ(status_of(other.read_response()), 200u);
  RawClient fourth(daemon.port(), "127.0.0.3");  // over the total cap
  fourth.connect();
  fourth.send(kHealthRequest);
  const std::string over_total = fourth.read_response();
  EXPECT_EQ(status_of(over_total), 503u);
  EXPECT_NE(over_total.find("server.max_connections)"), std::string::npos) << over_total;

  // A connection that ends gives its slot back before the client sees the close.
  first.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(first.read_response()), 200u);
  ASSERT_TRUE(first.closed_by_peer());
  RawClient again(daemon.port(), true);
  again.send(kHealthRequest);
  EXPECT_EQ(status_of(again.read_response()), 200u);
}

TEST(Limits, OutOfDescriptorsPausesAcceptingAndRecovers) {
  const CountedLog counter("accept: ");
  {
    TestDaemon daemon;
    RawClient existing(daemon.port(), true);
    existing.send(kHealthRequest);
    ASSERT_EQ(status_of(existing.read_response()), 200u);
    RawClient newcomer(daemon.port(), false);  // its descriptor, before there are none

    DescriptorsExhausted full;
    ASSERT_TRUE(full.exhausted());
    newcomer.connect();  // the kernel completes it; the daemon cannot accept it
    newcomer.send(kHealthRequest);
    ASSERT_TRUE(counter->wait_for_first());
    // Existing clients are served meanwhile, and the failing accept is reported once, not in a loop.
    existing.send(kHealthRequest);
    EXPECT_EQ(status_of(existing.read_response()), 200u);
    EXPECT_EQ(counter->count(), 1);

    full.release();
    EXPECT_EQ(status_of(newcomer.read_response()), 200u);
  }
}

TEST(Limits, IdleKeepAliveAndSlowHttpRequestsAreClosed) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.http_idle_timeout_s = kTinyTimeoutS;
    c.server.request_timeout_s = 60;
  });
  RawClient idle(daemon.port(), true);
  idle.send(kHealthRequest);
  ASSERT_EQ(status_of(idle.read_response()), 200u);
  EXPECT_TRUE(idle.closed_by_peer());  // after the keep-alive timeout, not 60 s

  TestDaemon strict([](daemon::DaemonConfig& c) {
    c.server.http_idle_timeout_s = 60;
    c.server.request_timeout_s = kTinyTimeoutS;
  });
  RawClient slow(strict.port(), true);
  slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // the header never ends
  EXPECT_TRUE(slow.closed_by_peer());
}

TEST(Limits, IdleWebSocketIsClosedEvenWhileItAnswersPingsButNotDuringASong) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.websocket_idle_timeout_s = 1.0;
    c.streaming.lookahead_s = 0.1;  // the song takes about its own length: longer than the idle timeout
  });
  WsClient client(daemon.port());
  const SongTranscript t = client.generate(song(3000));
  ASSERT_EQ(t.end.at("type"), "done") << json::serialize(t.end);
  client.ping();  // its pong is no message from the client
  EXPECT_THROW(client.read(), boost::system::system_error);
  EXPECT_EQ(client.close_reason().code, websocket::close_code::normal);
  EXPECT_NE(reason_text(client).find("idle"), std::string::npos) << reason_text(client);
}

TEST(Limits, WebSocketMessageArrivingTooSlowlyIsClosed) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.server.request_timeout_s = kTinyTimeoutS; });
  WsClient client(daemon.port());
  client.send_raw(std::string("\x81\x85", 2));  // a masked 5-byte text frame's header, and no more
  EXPECT_THROW(client.read(), boost::system::system_error);
  EXPECT_EQ(client.close_reason().code, websocket::close_code::policy_error);
  EXPECT_NE(reason_text(client).find("server.request_timeout_s"), std::string::npos)
      << reason_text(client);
}

TEST(Limits, ClientFloodingBadMessagesWithoutReadingIsClosed) {
  const CountedLog closes("without reading the replies");
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.send_queue_messages = 8;
    c.server.socket_send_buffer_bytes = kTinySocketBuffer;
  });
  WsClient flooder(daemon.port(), "/v1/stream", {}, kTinySocketBuffer);
  // Far more replies than the socket buffers (a few KB here) and the queue hold; the messages
  // themselves fit in the daemon's receive buffer, so sending never blocks.
  constexpr int kMessages = 2000;
  for (int i = 0; i < kMessages; ++i) flooder.send_text("{");
  ASSERT_TRUE(closes->wait_for_first()) << "the daemon kept queueing replies";
  // Reading now: the replies that fit in the buffers and the queue, then the close.
  int replies = 0;
  try {
    for (;; ++replies) {
      ASSERT_LT(replies, kMessages) << "every bad message got its reply: the queue is unbounded";
      ASSERT_EQ(flooder.read_json().at("code"), "bad_json");
    }
  } catch (const boost::system::system_error&) {
  }
  EXPECT_EQ(flooder.close_reason().code, websocket::close_code::policy_error);
  EXPECT_NE(reason_text(flooder).find("server.send_queue_messages"), std::string::npos)
      << reason_text(flooder);
  // The daemon serves others.
  WsClient other(daemon.port());
  EXPECT_EQ(other.generate(song(240)).end.at("type"), "done");
}

TEST(Limits, SlowReaderIsSeenWhileTheSocketBufferStillHasRoom) {
  TestDaemon daemon([](daemon::DaemonConfig& c) {
    c.server.send_queue_messages = 1 << 20;  // the daemon's own queue never fills
    c.server.slow_reader_timeout_s = 0.5;    // the socket's send buffer is the OS's (auto-tuned)
  });
  WsClient slow(daemon.port(), "/v1/stream", {}, kTinySocketBuffer);
  slow.send_text(json::serialize(song(60000)));
  // Not reading: the daemon closes it once data it sent has waited too long.
  const auto deadline = std::chrono::steady_clock::now() + kCloseBound;
  while (slow_reader_closes(daemon) < 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(slow_reader_closes(daemon), 1.0);
  EXPECT_THROW(
      while (true) slow.read(), boost::system::system_error);
  // Its song was ended, and the daemon serves others.
  WsClient other(daemon.port());
  EXPECT_EQ(other.generate(song(240)).end.at("type"), "done");
}

}  // namespace
}  // namespace hs::test
