// Audio files by extension, for `heartstream generate --save_path`: .wav (16-bit PCM) and .flac
// (24-bit) through libsndfile, .opus and .ogg (Ogg Opus, 128 kb/s, libopusenc), .mp3 (LAME,
// 192 kb/s CBR), .safetensors (F32 tensor `wav` [channels, frames], written at finish). All but
// .safetensors grow as audio is written.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string_view>

#include "daemon/audio/audio_sink.h"
#include "daemon/audio/pcm.h"

namespace hs {

inline constexpr std::array<std::string_view, 6> kAudioFileExtensions = {".wav",  ".flac", ".opus",
                                                                         ".ogg",  ".mp3",  ".safetensors"};

// Picks the format from the (case-insensitive) extension. Throws InvalidArgument for an unknown
// extension (naming it and the supported ones) or a rate/channel count the format cannot hold
// (Opus: 48000 Hz, 1–2 channels; MP3: 1–2 channels; FLAC: 1–8 channels), Error naming the path when it cannot be
// written.
std::unique_ptr<AudioSink> open_audio_file(const std::filesystem::path& path,
                                           int sample_rate_hz = kSampleRateHz,
                                           int channels = kChannels);

}  // namespace hs
