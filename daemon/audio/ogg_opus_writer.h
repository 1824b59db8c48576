// Ogg Opus muxer (RFC 7845): Opus packets in, Ogg pages out through a byte callback as soon as
// they are complete, so an HTTP response or a file grows while the music is generated.
//
// Stream layout:
//   page 0 (BOS)  OpusHead, alone: version 1, channel count, pre-skip (the encoder's look-ahead in
//                 48 kHz samples), input sample rate 48000, output gain 0, mapping family 0.
//   page 1        OpusTags, alone: vendor string (the libopus version), no user comments.
//   pages 2..     audio packets (20 ms each); a page is flushed every kOggPagePackets packets
//                 (100 ms of audio), so a streaming listener waits at most that long for bytes.
//   last page     EOS flag set.
// Granule positions count 48 kHz samples per channel decoded so far, pre-skip included: a page's
// granule is that of its last completed packet, (k + 1) * 960 for packet k. The final page's
// granule is trimmed to pre_skip + the real input length, so players drop both the look-ahead at
// the start and the silence that padded the last packet. To know which packet is last, the
// writer holds one packet back until the next one (or finish) arrives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace hs {

// Audio packets per Ogg page: 5 × 20 ms = 100 ms between pages.
inline constexpr int kOggPagePackets = 5;

class OggOpusWriter {
 public:
  // Receives each page (header and body together); the span is valid only during the call.
  using ByteCallback = std::function<void(std::span<const std::uint8_t> bytes)>;

  // Emits the OpusHead and OpusTags pages at once. `serial_number` names the logical stream.
  OggOpusWriter(ByteCallback on_bytes, int channels, int pre_skip, std::uint32_t serial_number);
  ~OggOpusWriter();
  OggOpusWriter(const OggOpusWriter&) = delete;
  OggOpusWriter& operator=(const OggOpusWriter&) = delete;

  // One Opus packet of kOpusFrameSamples samples per channel.
  void write_packet(std::span<const std::uint8_t> packet);
  // Writes the held-back last packet with granule pre_skip + `input_frames` and the EOS flag.
  // Needs at least one packet, covering pre_skip + input_frames samples (OpusStreamEncoder::finish
  // guarantees both).
  void finish(std::int64_t input_frames);

 private:
  struct Ogg;  // libogg stream state, kept out of this header

  void packet_in(std::span<const std::uint8_t> data, std::int64_t granule, bool bos, bool eos);
  void flush_pages();

  ByteCallback on_bytes_;
  int pre_skip_ = 0;
  std::unique_ptr<Ogg> ogg_;
  std::vector<std::uint8_t> held_packet_;
  bool holding_ = false;
  std::int64_t packets_in_ = 0;  // audio packets handed to libogg
  int packets_in_page_ = 0;
  std::vector<std::uint8_t> page_;  // one page, header + body
  bool finished_ = false;
};

}  // namespace hs
