// Where generated audio goes: a file, an HTTP response, a sound card. PCM arrives in chunks as the
// codec produces it; finish() ends the stream (flushes encoders, fixes up headers, closes).
#pragma once

#include <cstddef>

namespace hs {

class AudioSink {
 public:
  virtual ~AudioSink() = default;

  // `frames` samples per channel, interleaved float in [-1, 1] (clamped where an encoder needs it).
  virtual void write(const float* interleaved, std::size_t frames) = 0;
  // Ends the stream; write() and finish() may not be called again. A sink destroyed without
  // finish() leaves what it wrote so far (a WAV or FLAC file closed where it stands, an Ogg
  // stream without its last pages and EOS, an MP3 without its last frames).
  virtual void finish() = 0;
};

}  // namespace hs
