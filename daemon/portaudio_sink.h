// Local speakers (DESIGN.md data flow: "→ PortAudio"): an AudioSink that plays 48 kHz stereo float
// PCM on a PortAudio output device with blocking writes. The device is chosen by index ("3"), by
// name (case-insensitive; an exact name wins, else the one name containing it) or, when empty,
// the host's default output (OutputsConfig::portaudio_device). Errors name the device and, when
// it is not found, list the output devices there are.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "daemon/audio/audio_sink.h"
#include "engine/core/error.h"

typedef void PaStream;  // portaudio.h's own typedef, so this header does not include it

namespace hs::daemon {

// PortAudio failed, or no output device matches: the message names the device.
class PortAudioError : public Error {
 public:
  using Error::Error;
};

// Pa_Initialize / Pa_Terminate (PortAudio counts nested initialisations).
class PortAudioLibrary {
 public:
  PortAudioLibrary();  // throws PortAudioError
  ~PortAudioLibrary();
  PortAudioLibrary(const PortAudioLibrary&) = delete;
  PortAudioLibrary& operator=(const PortAudioLibrary&) = delete;
};

struct PortAudioDevice {
  int index = 0;
  std::string name;
  std::string host_api;
  int max_output_channels = 0;
};

// Every device with an output channel, in PortAudio's order.
std::vector<PortAudioDevice> output_devices(const PortAudioLibrary& library);
// The device `spec` names (see the file comment); throws PortAudioError listing the devices.
PortAudioDevice find_output_device(const PortAudioLibrary& library, const std::string& spec);

class PortAudioSink final : public AudioSink {
 public:
  // Opens and starts a 48 kHz stereo float stream on the device `spec` names.
  explicit PortAudioSink(const std::string& spec);
  // Without finish(): stops at once, dropping what the device has not played yet.
  ~PortAudioSink() override;
  PortAudioSink(const PortAudioSink&) = delete;
  PortAudioSink& operator=(const PortAudioSink&) = delete;

  // Blocks until PortAudio has taken every frame (about real time once its buffers are full).
  // Samples are clamped to [-1, 1]. An output underflow (the producer fell behind) is not an error.
  void write(const float* interleaved, std::size_t frames) override;
  // Waits until everything written has been played, then closes the stream.
  void finish() override;

  const PortAudioDevice& device() const { return device_; }

 private:
  void close(bool drain);

  PortAudioLibrary library_;
  PortAudioDevice device_;
  PaStream* stream_ = nullptr;
  std::vector<float> scratch_;  // clamped samples of one slice
};

}  // namespace hs::daemon
