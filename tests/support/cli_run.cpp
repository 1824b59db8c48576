#include "tests/support/cli_run.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

extern char** environ;

namespace hs::test {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

RunResult run_shell(const std::string& command, const std::filesystem::path& err,
                    const std::optional<std::filesystem::path>& out) {
  std::string cmd = command;
  if (out) cmd += " > '" + out->string() + "'";
  cmd += " 2> '" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  return RunResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out ? slurp(*out) : std::string(), slurp(err)};
}

int run_process(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace hs::test
