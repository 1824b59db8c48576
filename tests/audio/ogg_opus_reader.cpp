#include "tests/audio/ogg_opus_reader.h"

#include <gtest/gtest.h>
#include <ogg/ogg.h>
#include <opus/opus.h>

#include <cstring>
#include <memory>

namespace hs::test {
namespace {

constexpr int kMaxFrameSamples = 5760;  // 120 ms at 48 kHz, the largest Opus packet
constexpr std::size_t kOpusHeadBytes = 19;

std::uint32_t le(const unsigned char* p, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void parse_head(const ogg_packet& packet, OggOpusContents& out) {
  ASSERT_EQ(static_cast<std::size_t>(packet.bytes), kOpusHeadBytes);
  ASSERT_EQ(std::memcmp(packet.packet, "OpusHead", 8), 0);
  out.version = packet.packet[8];
  out.channels = packet.packet[9];
  out.pre_skip = static_cast<int>(le(packet.packet + 10, 2));
  out.input_rate_hz = le(packet.packet + 12, 4);
  out.output_gain = static_cast<std::int16_t>(le(packet.packet + 16, 2));
  out.mapping_family = packet.packet[18];
}

void parse_tags(const ogg_packet& packet, OggOpusContents& out) {
  ASSERT_GE(packet.bytes, 16);
  ASSERT_EQ(std::memcmp(packet.packet, "OpusTags", 8), 0);
  const std::uint32_t vendor_bytes = le(packet.packet + 8, 4);
  ASSERT_LE(12 + vendor_bytes + 4, static_cast<std::uint64_t>(packet.bytes));
  out.vendor.assign(reinterpret_cast<const char*>(packet.packet + 12), vendor_bytes);
}

}  // namespace

OggOpusContents read_ogg_opus(std::span<const std::uint8_t> bytes) {
  OggOpusContents out;
  ogg_sync_state sync;
  ogg_sync_init(&sync);
  char* buffer = ogg_sync_buffer(&sync, static_cast<long>(bytes.size()));
  std::memcpy(buffer, bytes.data(), bytes.size());
  ogg_sync_wrote(&sync, static_cast<long>(bytes.size()));

  ogg_stream_state stream;
  bool stream_ready = false;
  std::unique_ptr<OpusDecoder, void (*)(OpusDecoder*)> decoder(nullptr, opus_decoder_destroy);
  std::vector<float> pcm;
  std::size_t packet_index = 0;
  std::size_t offset = 0;
  ogg_page page;
  for (;;) {
    const int status = ogg_sync_pageout(&sync, &page);
    if (status == 0) break;
    if (status < 0) {
      ++out.sync_errors;
      continue;
    }
    offset += static_cast<std::size_t>(page.header_len + page.body_len);
    if (!stream_ready) {
      ogg_stream_init(&stream, ogg_page_serialno(&page));
      stream_ready = true;
    }
    ogg_stream_pagein(&stream, &page);
    OggPageInfo info{ogg_page_granulepos(&page), ogg_page_bos(&page) != 0, ogg_page_eos(&page) != 0,
                     ogg_page_packets(&page), offset};
    out.pages.push_back(info);
    ogg_packet packet;
    for (int r; (r = ogg_stream_packetout(&stream, &packet)) != 0;) {
      if (r < 0) {
        ++out.packet_gaps;
        continue;
      }
      if (packet_index == 0) {
        parse_head(packet, out);
        int error = OPUS_OK;
        decoder.reset(opus_decoder_create(48000, out.channels, &error));
        EXPECT_EQ(error, OPUS_OK);
        pcm.resize(static_cast<std::size_t>(kMaxFrameSamples * out.channels));
      } else if (packet_index == 1) {
        parse_tags(packet, out);
      } else if (decoder) {
        const int n =
            opus_decode_float(decoder.get(), packet.packet, static_cast<opus_int32>(packet.bytes),
                              pcm.data(), kMaxFrameSamples, 0);
        EXPECT_GT(n, 0) << "opus_decode_float failed on audio packet " << out.audio_packets;
        if (n > 0)
          out.decoded.insert(out.decoded.end(), pcm.begin(), pcm.begin() + n * out.channels);
        ++out.audio_packets;
      }
      ++packet_index;
    }
  }
  if (stream_ready) ogg_stream_clear(&stream);
  ogg_sync_clear(&sync);
  return out;
}

}  // namespace hs::test
