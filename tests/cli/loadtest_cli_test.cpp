// `heartstream loadtest` end to end against an in-process daemon on the demo model: four songs over
// half a second all arrive intact (every packet, first audio after the `generate`, percentiles that
// are those of the records); songs the daemon refuses are counted by kind and fail the run; bad
// options and an unreachable daemon are named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "tests/daemon/test_daemon.h"
#include "tests/support/cli_run.h"

namespace hs::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kSessions = 4;
constexpr std::int64_t kLengthMs = 2000;
constexpr std::int64_t kSongAudioMs = 2080;  // 1 + 2000/80 = 26 frames of 80 ms on the demo model
constexpr std::uint64_t kSeed = 11;

// Nearest rank, computed here apart from the tool's.
double nearest_rank(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

class LoadtestCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hs_loadtest_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunResult loadtest(unsigned short port, const std::string& args) const {
    return run_shell(std::string("'") + HEARTSTREAM_BIN + "' loadtest --url ws://127.0.0.1:" + std::to_string(port) +
                         " " + args,
                     dir_ / "stderr", dir_ / "stdout");
  }
  std::string out_arg() const { return " --out '" + report_path().string() + "'"; }
  fs::path report_path() const { return dir_ / "report.json"; }
  json::object report() const { return json::parse(slurp(report_path())).as_object(); }

  fs::path dir_;
};

TEST_F(LoadtestCli, SongsOverARampArriveIntactAndThePercentilesAreTheRecords) {
  TestDaemon daemon;
  const RunResult r = loadtest(daemon.port(), "--sessions " + std::to_string(kSessions) + " --ramp-s 0.5 --length-ms " +
                                                  std::to_string(kLengthMs) + " --seed " + std::to_string(kSeed) +
                                                  out_arg());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("4 songs, 4 ok, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99"), std::string::npos) << r.out;
  const json::object rep = report();
  EXPECT_EQ(rep.at("date").as_string().size(), std::string("2000-01-01T00:00:00Z").size());
  EXPECT_EQ(rep.at("url").as_string(), "ws://127.0.0.1:" + std::to_string(daemon.port()));
  EXPECT_EQ(rep.at("options").at("sessions").as_int64(), kSessions);
  EXPECT_EQ(rep.at("daemon").at("version").as_string(), "demo");
  const json::array& songs = rep.at("songs").as_array();
  ASSERT_EQ(songs.size(), static_cast<std::size_t>(kSessions));
  std::vector<double> ttfa, rtf, underrun;
  for (std::size_t i = 0; i < songs.size(); ++i) {
    const json::object& s = songs[i].as_object();
    SCOPED_TRACE(json::serialize(s));
    EXPECT_FALSE(s.contains("error_kind"));
    EXPECT_EQ(s.at("index").as_int64(), static_cast<std::int64_t>(i));
    EXPECT_GE(s.at("start_s").to_number<double>(), 0.5 * static_cast<double>(i) / kSessions);  // never before its turn
    EXPECT_EQ(s.at("seed").to_number<std::uint64_t>(), kSeed + i);
    EXPECT_EQ(s.at("reason").as_string(), "length");
    EXPECT_EQ(s.at("audio_ms").as_int64(), kSongAudioMs);
    const std::int64_t pre_skip = s.at("pre_skip").as_int64();
    const std::int64_t packets = (pre_skip + kSongAudioMs * 48 + 959) / 960;
    EXPECT_EQ(s.at("packets").as_int64(), packets);
    EXPECT_EQ(s.at("audio_received_ms").as_int64(), packets * 20);
    EXPECT_GT(s.at("ttfa_ms").to_number<double>(), 0);
    EXPECT_GT(s.at("rtf").to_number<double>(), 0);
    EXPECT_GE(s.at("underrun_s").to_number<double>(), 0);
    ttfa.push_back(s.at("ttfa_ms").to_number<double>());
    rtf.push_back(s.at("rtf").to_number<double>());
    underrun.push_back(s.at("underrun_s").to_number<double>());
  }
  const json::object& sum = rep.at("summary").as_object();
  EXPECT_EQ(sum.at("songs_ok").as_int64(), kSessions);
  EXPECT_EQ(sum.at("songs_failed").as_int64(), 0);
  EXPECT_TRUE(sum.at("passed").as_bool());
  for (const auto& [name, values] : {std::pair{"ttfa_ms", ttfa}, std::pair{"rtf", rtf}, std::pair{"underrun_s", underrun}}) {
    SCOPED_TRACE(name);
    const json::object& p = sum.at(name).as_object();
    EXPECT_DOUBLE_EQ(p.at("p50").to_number<double>(), nearest_rank(values, 50));
    EXPECT_DOUBLE_EQ(p.at("p95").to_number<double>(), nearest_rank(values, 95));
    EXPECT_DOUBLE_EQ(p.at("p99").to_number<double>(), nearest_rank(values, 99));
    EXPECT_DOUBLE_EQ(p.at("max").to_number<double>(), *std::max_element(values.begin(), values.end()));
  }
}

TEST_F(LoadtestCli, RefusedSongsAreCountedByKindAndFailTheRun) {
  TestDaemon daemon([](daemon::DaemonConfig& c) { c.generation.max_tags_bytes = 4; });  // "piano,happy" is 11
  const RunResult r = loadtest(daemon.port(), "--sessions 3 --ramp-s 0 --length-ms 1000" + out_arg());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("loadtest failed: 3 song(s) failed"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("errors error:out_of_range: 3"), std::string::npos) << r.out;
  const json::object rep = report();
  const json::object& sum = rep.at("summary").as_object();
  EXPECT_EQ(sum.at("songs_ok").as_int64(), 0);
  EXPECT_EQ(sum.at("errors").at("error:out_of_range").as_int64(), 3);
  EXPECT_TRUE(sum.at("ttfa_ms").is_null());
  EXPECT_FALSE(sum.at("passed").as_bool());
  for (const json::value& s : rep.at("songs").as_array()) {
    EXPECT_EQ(s.at("error_kind").as_string(), "error:out_of_range");
    EXPECT_EQ(s.at("packets").as_int64(), 0);
  }
}

TEST_F(LoadtestCli, BadOptionsAndAnUnreachableDaemonAreNamed) {
  TestDaemon daemon;
  const auto fails_with = [&](const std::string& args, const std::string& message) {
    const RunResult r = loadtest(daemon.port(), args + out_arg());
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_FALSE(fs::exists(report_path())) << args;
  };
  fails_with("--sessions 0 --ramp-s 1 --length-ms 1000", "--sessions must be at least 1 (got 0)");
  fails_with("--sessions 2 --ramp-s -1 --length-ms 1000", "--ramp-s must be 0 or more seconds (got -1)");
  fails_with("--sessions 2 --ramp-s 0 --length-ms 10", "--length-ms 10 is outside this daemon's range 80 .. 600000 ms");
  fails_with("--sessions 2 --ramp-s 0 --length-ms 600001", "--length-ms 600001 is outside this daemon's range");
  const std::string bin = std::string("'") + HEARTSTREAM_BIN + "' loadtest --sessions 1 --ramp-s 0 --length-ms 1000 ";
  RunResult r = run_shell(bin + "--url http://127.0.0.1:1", dir_ / "stderr", dir_ / "stdout");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--url 'http://127.0.0.1:1': expected ws://HOST:PORT"), std::string::npos) << r.err;
  r = run_shell(bin + "--url ws://127.0.0.1:1", dir_ / "stderr", dir_ / "stdout");  // nothing listens on port 1
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach heartstreamd at http://127.0.0.1:1/v1/info"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hs::test
