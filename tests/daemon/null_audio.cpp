#include "tests/daemon/null_audio.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace hs::test {

namespace {

// The whole ALSA configuration: no cards, the default PCM discards audio.
constexpr const char* kAlsaNullConfig =
    "pcm.!default { type null }\n"
    "ctl.!default { type hw card 0 }\n";

// The configuration file of this process, removed when it exits (not when a forked child does).
struct ConfigFile {
  pid_t owner = ::getpid();
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("hs_alsa_null_" + std::to_string(owner) + ".conf");
  ConfigFile() { std::ofstream(path) << kAlsaNullConfig; }
  ~ConfigFile() {
    std::error_code ignored;
    if (::getpid() == owner) std::filesystem::remove(path, ignored);
  }
};

}  // namespace

void use_null_audio_device() {
  static const ConfigFile file;
  ASSERT_TRUE(std::filesystem::exists(file.path)) << file.path;
  ::setenv("ALSA_CONFIG_PATH", file.path.c_str(), 1);
  ::setenv("JACK_NO_START_SERVER", "1", 1);  // PortAudio also probes JACK: do not try to start one
}

}  // namespace hs::test
