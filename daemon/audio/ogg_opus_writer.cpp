#include "daemon/audio/ogg_opus_writer.h"

#include <ogg/ogg.h>
#include <opus/opus.h>

#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "daemon/audio/opus_stream_encoder.h"
#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::uint8_t kOpusHeadVersion = 1;
constexpr std::uint8_t kChannelMappingFamily = 0;  // mono or stereo, no mapping table
constexpr std::int16_t kOutputGain = 0;
constexpr std::uint32_t kInputSampleRateHz = kSampleRateHz;

void append_le(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

void append_text(std::vector<std::uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

std::vector<std::uint8_t> opus_head(int channels, int pre_skip) {
  std::vector<std::uint8_t> head;
  append_text(head, "OpusHead");
  head.push_back(kOpusHeadVersion);
  head.push_back(static_cast<std::uint8_t>(channels));
  append_le(head, static_cast<std::uint16_t>(pre_skip), 2);
  append_le(head, kInputSampleRateHz, 4);
  append_le(head, static_cast<std::uint16_t>(kOutputGain), 2);
  head.push_back(kChannelMappingFamily);
  return head;
}

std::vector<std::uint8_t> opus_tags() {
  const std::string_view vendor = opus_get_version_string();
  std::vector<std::uint8_t> tags;
  append_text(tags, "OpusTags");
  append_le(tags, vendor.size(), 4);
  append_text(tags, vendor);
  append_le(tags, 0, 4);  // user comment count
  return tags;
}

}  // namespace

struct OggOpusWriter::Ogg {
  explicit Ogg(std::uint32_t serial_number) {
    if (ogg_stream_init(&stream, static_cast<int>(serial_number)) != 0)
      throw Error("Ogg writer: ogg_stream_init failed");
  }
  ~Ogg() { ogg_stream_clear(&stream); }
  Ogg(const Ogg&) = delete;
  Ogg& operator=(const Ogg&) = delete;

  ogg_stream_state stream{};
};

OggOpusWriter::OggOpusWriter(ByteCallback on_bytes, int channels, int pre_skip,
                             std::uint32_t serial_number)
    : on_bytes_(std::move(on_bytes)),
      pre_skip_(pre_skip),
      ogg_(std::make_unique<Ogg>(serial_number)) {
  HS_CHECK(on_bytes_, "OggOpusWriter needs a byte callback");
  HS_CHECK(channels == 1 || channels == 2,
           "Ogg Opus mapping family 0 holds 1 or 2 channels, got " + std::to_string(channels));
  HS_CHECK(pre_skip >= 0 && pre_skip <= std::numeric_limits<std::uint16_t>::max(),
           "Ogg Opus pre-skip must fit 16 bits, got " + std::to_string(pre_skip));
  packet_in(opus_head(channels, pre_skip), 0, /*bos=*/true, /*eos=*/false);
  flush_pages();
  packet_in(opus_tags(), 0, /*bos=*/false, /*eos=*/false);
  flush_pages();
}

OggOpusWriter::~OggOpusWriter() = default;

void OggOpusWriter::write_packet(std::span<const std::uint8_t> packet) {
  HS_CHECK(!finished_, "OggOpusWriter::write_packet after finish");
  HS_CHECK(!packet.empty(), "OggOpusWriter::write_packet got an empty Opus packet");
  if (holding_) {
    packet_in(held_packet_, (packets_in_ + 1) * kOpusFrameSamples, /*bos=*/false, /*eos=*/false);
    ++packets_in_;
    if (++packets_in_page_ == kOggPagePackets) flush_pages();
  }
  held_packet_.assign(packet.begin(), packet.end());
  holding_ = true;
}

void OggOpusWriter::finish(std::int64_t input_frames) {
  HS_CHECK(!finished_, "OggOpusWriter::finish called twice");
  HS_CHECK(holding_, "OggOpusWriter::finish needs at least one audio packet");
  const std::int64_t final_granule = pre_skip_ + input_frames;
  const std::int64_t decoded = (packets_in_ + 1) * kOpusFrameSamples;
  HS_CHECK(
      input_frames >= 0 && final_granule <= decoded && final_granule > decoded - kOpusFrameSamples,
      "OggOpusWriter::finish: " + std::to_string(input_frames) +
          " input frames do not end inside the last packet");
  packet_in(held_packet_, final_granule, /*bos=*/false, /*eos=*/true);
  ++packets_in_;
  flush_pages();
  finished_ = true;
}

void OggOpusWriter::packet_in(std::span<const std::uint8_t> data, std::int64_t granule, bool bos,
                              bool eos) {
  ogg_packet packet{};
  packet.packet = const_cast<unsigned char*>(data.data());  // libogg copies, never writes
  packet.bytes = static_cast<long>(data.size());
  packet.b_o_s = bos ? 1 : 0;
  packet.e_o_s = eos ? 1 : 0;
  packet.granulepos = granule;
  if (ogg_stream_packetin(&ogg_->stream, &packet) != 0)
    throw Error("Ogg writer: ogg_stream_packetin failed");
}

void OggOpusWriter::flush_pages() {
  ogg_page page{};
  while (ogg_stream_flush(&ogg_->stream, &page) != 0) {
    page_.assign(page.header, page.header + page.header_len);
    page_.insert(page_.end(), page.body, page.body + page.body_len);
    on_bytes_(page_);
  }
  packets_in_page_ = 0;
}

}  // namespace hs
