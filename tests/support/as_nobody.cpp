#include "tests/support/as_nobody.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace hs::test {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kNobodyUid = 65534;
constexpr gid_t kNobodyGid = 65534;
constexpr int kCannotBecomeNobody = 125;  // the child's exit status when setuid/exec failed

}  // namespace

void rerun_as_nobody() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter = std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name();
  const fs::path folder = fs::temp_directory_path() / ("hs_as_nobody_" + std::to_string(::getpid()));
  const fs::path binary = folder / "test";
  fs::create_directories(folder);
  fs::permissions(folder, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  fs::copy_file("/proc/self/exe", binary, fs::copy_options::overwrite_existing);
  fs::permissions(binary, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);

  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<char*> argv = {const_cast<char*>(binary.c_str()), const_cast<char*>(filter.c_str()), nullptr};
  std::vector<char*> envp;  // this environment, less a GTEST_OUTPUT that would make the child overwrite our report
  for (char** e = environ; *e != nullptr; ++e)
    if (!std::string_view(*e).starts_with("GTEST_OUTPUT=")) envp.push_back(*e);
  envp.push_back(nullptr);
  static constexpr char kFailed[] = "rerun_as_nobody: becoming nobody or exec failed\n";
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << "fork: " << std::strerror(errno);
  if (pid == 0) {
    if (::setgroups(0, nullptr) == 0 && ::setgid(kNobodyGid) == 0 && ::setuid(kNobodyUid) == 0)
      ::execve(argv[0], argv.data(), envp.data());
    [[maybe_unused]] const auto ignored = ::write(STDERR_FILENO, kFailed, sizeof(kFailed) - 1);
    ::_exit(kCannotBecomeNobody);
  }
  int status = 0;
  const pid_t waited = ::waitpid(pid, &status, 0);
  fs::remove_all(folder);
  ASSERT_EQ(waited, pid) << "waitpid: " << std::strerror(errno);
  ASSERT_TRUE(WIFEXITED(status)) << info->name() << " as nobody ended by signal " << WTERMSIG(status);
  ASSERT_NE(WEXITSTATUS(status), kCannotBecomeNobody) << "could not run " << binary << " as nobody (uid 65534)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << info->name() << " failed as nobody (uid 65534); its output is above";
}

}  // namespace hs::test
