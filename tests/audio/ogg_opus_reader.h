// An independent Ogg Opus reader for tests: libogg's sync layer (which checks every page CRC) and
// libopus' decoder; it trusts nothing the writer reports about itself.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hs::test {

struct OggPageInfo {
  std::int64_t granule = 0;
  bool bos = false;
  bool eos = false;
  int packets_completed = 0;
  std::size_t end_offset = 0;  // byte offset just past the page in the stream
};

struct OggOpusContents {
  // OpusHead fields.
  int version = -1;
  int channels = 0;
  int pre_skip = 0;
  std::uint32_t input_rate_hz = 0;
  int output_gain = 0;
  int mapping_family = -1;
  std::string vendor;  // from OpusTags
  std::vector<OggPageInfo> pages;
  int sync_errors = 0;  // bytes skipped or CRC failures seen by ogg_sync_pageout
  int packet_gaps = 0;  // holes in the packet sequence seen by ogg_stream_packetout
  std::size_t audio_packets = 0;
  std::vector<float> decoded;  // every decoded sample, interleaved, pre-skip not yet removed
};

// Parses and decodes a whole (possibly unfinished) stream. Header problems fail the current test.
OggOpusContents read_ogg_opus(std::span<const std::uint8_t> bytes);

}  // namespace hs::test
