#include "daemon/portaudio_sink.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include <portaudio.h>

#include "daemon/audio/pcm.h"

namespace hs::daemon {
namespace {

// Frames handed to Pa_WriteStream at once: bounds the scratch buffer (20 ms at 48 kHz).
constexpr std::size_t kSliceFrames = 960;

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string describe(const PortAudioDevice& d) {
  return std::to_string(d.index) + " \"" + d.name + "\" (" + d.host_api + ")";
}

std::string device_list(const std::vector<PortAudioDevice>& devices) {
  if (devices.empty()) return "there are no output devices";
  std::string s = "output devices:";
  for (const auto& d : devices) s += " " + describe(d) + ";";
  s.pop_back();
  return s;
}

PortAudioDevice device_info(PaDeviceIndex index) {
  const PaDeviceInfo* info = Pa_GetDeviceInfo(index);
  const PaHostApiInfo* api = Pa_GetHostApiInfo(info->hostApi);
  return PortAudioDevice{index, info->name, api ? api->name : "?", info->maxOutputChannels};
}

void check(PaError err, const std::string& what) {
  if (err != paNoError) throw PortAudioError("PortAudio: " + what + ": " + Pa_GetErrorText(err));
}

}  // namespace

PortAudioLibrary::PortAudioLibrary() { check(Pa_Initialize(), "cannot initialise"); }

PortAudioLibrary::~PortAudioLibrary() { Pa_Terminate(); }

std::vector<PortAudioDevice> output_devices(const PortAudioLibrary&) {
  std::vector<PortAudioDevice> devices;
  const PaDeviceIndex count = Pa_GetDeviceCount();
  check(count < 0 ? count : paNoError, "cannot list devices");
  for (PaDeviceIndex i = 0; i < count; ++i) {
    PortAudioDevice d = device_info(i);
    if (d.max_output_channels > 0) devices.push_back(std::move(d));
  }
  return devices;
}

PortAudioDevice find_output_device(const PortAudioLibrary& library, const std::string& spec) {
  const std::vector<PortAudioDevice> devices = output_devices(library);
  if (spec.empty()) {
    const PaDeviceIndex index = Pa_GetDefaultOutputDevice();
    if (index == paNoDevice) throw PortAudioError("PortAudio: there is no default output device; " + device_list(devices));
    return device_info(index);
  }
  int index = -1;
  const auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), index);
  if (ec == std::errc() && end == spec.data() + spec.size()) {
    for (const auto& d : devices)
      if (d.index == index) return d;
    throw PortAudioError("PortAudio: no output device with index " + spec + "; " + device_list(devices));
  }
  const std::string wanted = lower(spec);
  std::vector<PortAudioDevice> matches;
  for (const auto& d : devices) {
    if (lower(d.name) == wanted) return d;
    if (lower(d.name).find(wanted) != std::string::npos) matches.push_back(d);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) throw PortAudioError("PortAudio: no output device named \"" + spec + "\"; " + device_list(devices));
  throw PortAudioError("PortAudio: \"" + spec + "\" names several output devices (give an index); " +
                       device_list(matches));
}

PortAudioSink::PortAudioSink(const std::string& spec)
    : device_(find_output_device(library_, spec)), scratch_(kSliceFrames * kChannels) {
  const PaDeviceInfo* info = Pa_GetDeviceInfo(device_.index);
  PaStreamParameters out{};
  out.device = device_.index;
  out.channelCount = kChannels;
  out.sampleFormat = paFloat32;
  out.suggestedLatency = info->defaultHighOutputLatency;  // music, not interaction: fewer underflows
  const std::string what = "cannot open output device " + describe(device_) + " for 48000 Hz stereo float";
  check(Pa_OpenStream(&stream_, nullptr, &out, kSampleRateHz, paFramesPerBufferUnspecified, paClipOff, nullptr, nullptr),
        what);
  const PaError started = Pa_StartStream(stream_);
  if (started != paNoError) {
    Pa_CloseStream(stream_);
    stream_ = nullptr;
    check(started, "cannot start output device " + describe(device_));
  }
}

PortAudioSink::~PortAudioSink() { close(/*drain=*/false); }

void PortAudioSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(stream_ != nullptr, "PortAudioSink::write after finish");
  for (std::size_t done = 0; done < frames;) {
    const std::size_t n = std::min(kSliceFrames, frames - done);
    std::transform(interleaved + done * kChannels, interleaved + (done + n) * kChannels, scratch_.begin(), clamp_sample);
    const PaError err = Pa_WriteStream(stream_, scratch_.data(), static_cast<unsigned long>(n));
    if (err != paOutputUnderflowed) check(err, "cannot write to output device " + describe(device_));
    done += n;
  }
}

void PortAudioSink::finish() { close(/*drain=*/true); }

void PortAudioSink::close(bool drain) {
  if (!stream_) return;
  PaStream* stream = std::exchange(stream_, nullptr);
  const PaError stopped = drain ? Pa_StopStream(stream) : Pa_AbortStream(stream);
  const PaError closed = Pa_CloseStream(stream);
  if (!drain) return;  // destructor: nothing to report to
  check(stopped, "cannot stop output device " + describe(device_));
  check(closed, "cannot close output device " + describe(device_));
}

}  // namespace hs::daemon
