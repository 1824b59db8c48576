// `heartstreamd --play`: one song, no server. Loads the model, generates one song on an engine
// worker and plays it on the local PortAudio output as it is produced (Container::Pcm through a
// LocalPlayer), prints the time to first audio, and returns when the song has been played.
// SIGINT/SIGTERM cancel the song (a second one kills the process).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/config.h"
#include "daemon/protocol.h"

namespace hs::daemon {

// The song flags of --play; unset ones take the configuration's defaults.
struct PlayFlags {
  std::string tags;
  std::string lyrics;
  std::optional<std::int64_t> max_audio_length_ms;
  std::optional<int> topk;
  std::optional<double> temperature;
  std::optional<double> cfg_scale;
  std::optional<std::uint64_t> seed;
};

// The song the flags ask for, checked against the same limits as a `generate` message (throws
// ProtocolError naming the field).
SongParams play_params(const PlayFlags& flags, const GenerationConfig& generation);

// Plays one song on outputs.portaudio_device. Returns the exit status: 0 when the song was
// played (or cancelled by a signal), 1 when it failed (the message is printed).
int play_one_song(const DaemonConfig& config, const SongParams& params);

}  // namespace hs::daemon
