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

}  // namespace

void use_null_audio_device() {
  static const std::filesystem::path path = [] {
    const auto p = std::filesystem::temp_directory_path() / ("hs_alsa_null_" + std::to_string(::getpid()) + ".conf");
    std::ofstream(p) << kAlsaNullConfig;
    return p;
  }();
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  ::setenv("ALSA_CONFIG_PATH", path.c_str(), 1);
  ::setenv("JACK_NO_START_SERVER", "1", 1);  // PortAudio also probes JACK: do not try to start one
}

}  // namespace hs::test
