#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "daemon/audio/audio_file.h"
#include "engine/core/error.h"
#include "tests/audio/audio_test_util.h"

namespace hs {
namespace {

// The exception's message, or "" if `open` did not throw an E.
template <typename E, typename F>
std::string message_of(F&& open) {
  try {
    open();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

TEST(AudioFileErrors, UnknownExtensionNamesItAndTheSupportedOnes) {
  test::ScratchDir dir;
  for (const char* name : {"song.aiff", "song", "song.wav.tmp"}) {
    const auto path = dir.file(name);
    const std::string what = message_of<InvalidArgument>([&] { open_audio_file(path); });
    const std::string ext = std::filesystem::path(name).extension().string();
    EXPECT_NE(what.find("'" + ext + "'"), std::string::npos) << what;
    for (const char* supported : {".wav", ".flac", ".opus", ".ogg", ".mp3", ".safetensors"})
      EXPECT_NE(what.find(supported), std::string::npos) << what;
    EXPECT_FALSE(std::filesystem::exists(path)) << "nothing is created for a rejected name";
  }
}

TEST(AudioFileErrors, UnwritablePathNamesThePath) {
  test::ScratchDir dir;
  for (const char* ext : {".wav", ".flac", ".opus", ".ogg", ".mp3", ".safetensors"}) {
    const auto missing_folder = dir.file("no_such_folder") / (std::string("out") + ext);
    const std::string what = message_of<Error>([&] { open_audio_file(missing_folder); });
    EXPECT_NE(what.find(missing_folder.string()), std::string::npos) << what;
  }
  const auto folder = dir.file("a_folder.wav");
  std::filesystem::create_directory(folder);
  const std::string what = message_of<Error>([&] { open_audio_file(folder); });
  EXPECT_NE(what.find(folder.string()), std::string::npos) << what;
}

TEST(AudioFileErrors, FormatLimitsAreInvalidArguments) {
  test::ScratchDir dir;
  EXPECT_THROW(open_audio_file(dir.file("a.opus"), 44100, 2), InvalidArgument);
  EXPECT_THROW(open_audio_file(dir.file("a.ogg"), 48000, 3), InvalidArgument);
  EXPECT_THROW(open_audio_file(dir.file("a.mp3"), 48000, 6), InvalidArgument);
  EXPECT_THROW(open_audio_file(dir.file("a.wav"), 0, 2), InvalidArgument);
  EXPECT_THROW(open_audio_file(dir.file("a.flac"), 48000, 9), InvalidArgument);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "rejected before any file is created";
}

}  // namespace
}  // namespace hs
