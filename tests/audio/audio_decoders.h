// Independent decoders for what heartstream writes, so the tests trust nothing the writers say
// about themselves: libopusfile (Ogg Opus), libsndfile (WAV, FLAC) and mpg123 (MP3), plus libogg's
// page walk where page boundaries and granules matter (streaming). A file that does not decode
// fails the current test and comes back empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hs::test {

// Audio as a player plays it: interleaved float, Opus pre-skip and end padding trimmed, MP3
// gapless (encoder delay and padding trimmed).
struct DecodedAudio {
  int sample_rate_hz = 0;
  int channels = 0;
  std::vector<float> samples;
  std::int64_t frames() const { return channels > 0 ? static_cast<std::int64_t>(samples.size()) / channels : 0; }
};

struct DecodedOggOpus {
  DecodedAudio audio;              // 48 kHz, from op_read_float
  int pre_skip = 0;                // OpusHead
  std::uint32_t input_rate_hz = 0;
  int mapping_family = -1;
  int output_gain = 0;
  std::string vendor;              // OpusTags
  std::int64_t pcm_total = -1;     // op_pcm_total: samples per channel after trimming
  int links = 0;                   // logical streams chained in the file
};
DecodedOggOpus decode_ogg_opus(std::span<const std::uint8_t> bytes);
DecodedOggOpus decode_ogg_opus(std::string_view bytes);

struct DecodedSndfile {
  DecodedAudio audio;
  int format = 0;  // SF_FORMAT_* container | subtype, as libsndfile reports it
};
DecodedSndfile decode_sndfile(const std::filesystem::path& path);

struct DecodedMp3 {
  DecodedAudio audio;
  int bitrate_kbps = 0;  // of the first frame
  bool cbr = false;
};
DecodedMp3 decode_mp3(const std::filesystem::path& path);

struct OggPage {
  std::int64_t granule = 0;
  bool bos = false;
  bool eos = false;
  int packets_completed = 0;
  std::size_t end_offset = 0;  // byte offset just past the page
};
struct OggPages {
  std::vector<OggPage> pages;
  int sync_errors = 0;  // skipped bytes or CRC failures seen by ogg_sync_pageout
};
// Every complete page of a (possibly unfinished) stream, through libogg's sync layer.
OggPages ogg_pages(std::span<const std::uint8_t> bytes);

}  // namespace hs::test
