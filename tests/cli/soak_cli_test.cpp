// `heartstream soak` end to end against an in-process daemon on the demo model (this test process
// is the daemon it samples): a short run completes songs, samples RSS and descriptors and reports no
// error; songs the daemon refuses are counted by kind and fail the run; a pid with no process is
// named.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <boost/json.hpp>

#include "tests/daemon/test_daemon.h"
#include "tests/support/cli_run.h"

namespace hs::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t kSongAudioMs = 1040;  // --max_audio_length_ms 1000 on the demo model: 13 frames of 80 ms

class SoakCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hs_soak_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `heartstream soak` against `daemon` (sampling this process) with growth limits no short
  // run can trip: a few seconds only see the daemon warm up.
  RunResult soak(const TestDaemon& daemon, const std::string& args) const {
    return run_shell(std::string("'") + HEARTSTREAM_BIN + "' soak --url ws://127.0.0.1:" + std::to_string(daemon.port()) +
                         " --daemon_pid " + std::to_string(::getpid()) +
                         " --max_rss_mb_per_h 1e9 --max_fds_per_h 1e9 --max_idle_fd_growth 1000 --out '" +
                         report_path().string() + "' " + args,
                     dir_ / "stderr", dir_ / "stdout");
  }
  fs::path report_path() const { return dir_ / "report.json"; }
  json::object report() const { return json::parse(slurp(report_path())).as_object(); }

  fs::path dir_;
};

TEST_F(SoakCli, ARunCompletesCheckedSongsAndSamplesTheDaemon) {
  TestDaemon daemon;
  const RunResult r = soak(daemon, "--concurrency 2 --duration_s 1 --sample_every_s 0.2 --max_audio_length_ms 1000");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("songs completed, 0 failed"), std::string::npos) << r.out;
  const json::object rep = report();
  EXPECT_EQ(rep.at("date").as_string().size(), std::string("2000-01-01T00:00:00Z").size());
  EXPECT_EQ(rep.at("config").at("concurrency").as_int64(), 2);
  const json::object& summary = rep.at("summary").as_object();
  EXPECT_GT(summary.at("songs_completed").as_int64(), 0);
  EXPECT_EQ(summary.at("songs_failed").as_int64(), 0);
  EXPECT_TRUE(summary.at("errors").as_object().empty());
  EXPECT_TRUE(summary.at("passed").as_bool());
  const json::array& songs = rep.at("songs").as_array();
  EXPECT_EQ(static_cast<std::int64_t>(songs.size()), summary.at("songs_completed").as_int64());
  for (const json::value& song : songs) {
    EXPECT_EQ(song.at("reason").as_string(), "length");
    EXPECT_EQ(song.at("audio_ms").as_int64(), kSongAudioMs);
  }
  const json::array& samples = rep.at("samples").as_array();
  ASSERT_GE(samples.size(), 2u);  // one at the start, one after the last song
  for (const json::value& s : samples) {
    EXPECT_GT(s.at("rss_kb").as_int64(), 0);
    EXPECT_GT(s.at("fds").as_int64(), 0);
  }
  EXPECT_EQ(samples.back().at("songs_done").as_int64(), static_cast<std::int64_t>(songs.size()));
}

TEST_F(SoakCli, RefusedSongsAreCountedByKindAndFailTheRun) {
  TestDaemon daemon;
  const RunResult r = soak(daemon, "--concurrency 2 --duration_s 0.5 --max_audio_length_ms 10");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("soak failed: "), std::string::npos) << r.err;
  const json::object rep = report();
  const json::object& summary = rep.at("summary").as_object();
  EXPECT_EQ(summary.at("songs_completed").as_int64(), 0);
  const std::int64_t failed = summary.at("songs_failed").as_int64();
  EXPECT_GT(failed, 0);
  EXPECT_EQ(summary.at("errors").at("error:out_of_range").as_int64(), failed);
  EXPECT_FALSE(summary.at("passed").as_bool());
}

TEST_F(SoakCli, APidWithNoProcessIsNamed) {
  const int no_such_pid = std::stoi(slurp("/proc/sys/kernel/pid_max"));  // pids stay below pid_max
  const RunResult r = run_shell(std::string("'") + HEARTSTREAM_BIN + "' soak --url ws://127.0.0.1:1 --daemon_pid " +
                                    std::to_string(no_such_pid) + " --duration_s 1 --out '" + report_path().string() + "'",
                                dir_ / "stderr", dir_ / "stdout");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--daemon_pid " + std::to_string(no_such_pid) + ": cannot read /proc/"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(report_path()));
}

}  // namespace
}  // namespace hs::test
