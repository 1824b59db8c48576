#include "tests/audio/audio_decoders.h"

#include <gtest/gtest.h>
#include <mpg123.h>
#include <ogg/ogg.h>
#include <opus/opusfile.h>
#include <sndfile.h>

#include <cstring>
#include <memory>

namespace hs::test {
namespace {

constexpr int kOpusRateHz = 48000;
constexpr int kReadFrames = 4096;

}  // namespace

DecodedOggOpus decode_ogg_opus(std::span<const std::uint8_t> bytes) {
  DecodedOggOpus out;
  int error = 0;
  std::unique_ptr<OggOpusFile, void (*)(OggOpusFile*)> file(op_open_memory(bytes.data(), bytes.size(), &error),
                                                            op_free);
  if (!file) {
    ADD_FAILURE() << "libopusfile cannot open the stream (" << bytes.size() << " bytes): error " << error;
    return out;
  }
  const OpusHead* head = op_head(file.get(), 0);
  const OpusTags* tags = op_tags(file.get(), 0);
  out.pre_skip = static_cast<int>(head->pre_skip);
  out.input_rate_hz = head->input_sample_rate;
  out.mapping_family = head->mapping_family;
  out.output_gain = head->output_gain;
  out.vendor = tags->vendor;
  out.links = op_link_count(file.get());
  out.pcm_total = op_pcm_total(file.get(), -1);
  out.audio.sample_rate_hz = kOpusRateHz;
  out.audio.channels = head->channel_count;
  std::vector<float> buffer(static_cast<std::size_t>(kReadFrames * head->channel_count));
  for (;;) {
    const int frames = op_read_float(file.get(), buffer.data(), static_cast<int>(buffer.size()), nullptr);
    if (frames < 0) {
      ADD_FAILURE() << "op_read_float failed: " << frames;
      return out;
    }
    if (frames == 0) break;
    out.audio.samples.insert(out.audio.samples.end(), buffer.begin(),
                             buffer.begin() + static_cast<std::ptrdiff_t>(frames * head->channel_count));
  }
  return out;
}

DecodedOggOpus decode_ogg_opus(std::string_view bytes) {
  return decode_ogg_opus({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

DecodedSndfile decode_sndfile(const std::filesystem::path& path) {
  DecodedSndfile out;
  SF_INFO info{};
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> file(sf_open(path.c_str(), SFM_READ, &info), sf_close);
  if (!file) {
    ADD_FAILURE() << "libsndfile cannot open " << path << ": " << sf_strerror(nullptr);
    return out;
  }
  out.format = info.format;
  out.audio.sample_rate_hz = info.samplerate;
  out.audio.channels = info.channels;
  out.audio.samples.resize(static_cast<std::size_t>(info.frames * info.channels));
  const sf_count_t read = sf_readf_float(file.get(), out.audio.samples.data(), info.frames);
  EXPECT_EQ(read, info.frames) << path << ": " << sf_strerror(file.get());
  return out;
}

DecodedMp3 decode_mp3(const std::filesystem::path& path) {
  DecodedMp3 out;
  std::unique_ptr<mpg123_handle, void (*)(mpg123_handle*)> handle(mpg123_new(nullptr, nullptr), mpg123_delete);
  if (!handle) {
    ADD_FAILURE() << "mpg123_new failed";
    return out;
  }
  mpg123_handle* h = handle.get();
  // Gapless (mpg123's default, stated here): the LAME tag's delay and padding are trimmed.
  EXPECT_EQ(mpg123_param(h, MPG123_ADD_FLAGS, MPG123_GAPLESS | MPG123_FORCE_FLOAT, 0.0), MPG123_OK);
  mpg123_format_none(h);
  const long* rates = nullptr;
  std::size_t rate_count = 0;
  mpg123_rates(&rates, &rate_count);
  for (std::size_t i = 0; i < rate_count; ++i) mpg123_format(h, rates[i], MPG123_MONO | MPG123_STEREO, MPG123_ENC_FLOAT_32);
  if (mpg123_open(h, path.c_str()) != MPG123_OK) {
    ADD_FAILURE() << "mpg123 cannot open " << path << ": " << mpg123_strerror(h);
    return out;
  }
  std::vector<unsigned char> buffer(static_cast<std::size_t>(kReadFrames) * 2 * sizeof(float));
  for (;;) {
    std::size_t bytes = 0;
    const int status = mpg123_read(h, buffer.data(), buffer.size(), &bytes);
    const auto* pcm = reinterpret_cast<const float*>(buffer.data());
    out.audio.samples.insert(out.audio.samples.end(), pcm, pcm + bytes / sizeof(float));
    if (status == MPG123_NEW_FORMAT) {
      long rate = 0;
      int channels = 0, encoding = 0;
      mpg123_getformat(h, &rate, &channels, &encoding);
      out.audio.sample_rate_hz = static_cast<int>(rate);
      out.audio.channels = channels;
      struct mpg123_frameinfo2 info{};
      mpg123_info2(h, &info);
      out.bitrate_kbps = info.bitrate;
      out.cbr = info.vbr == MPG123_CBR;
    } else if (status == MPG123_DONE) {
      break;
    } else if (status != MPG123_OK) {
      ADD_FAILURE() << "mpg123_read " << path << ": " << mpg123_strerror(h);
      break;
    }
  }
  mpg123_close(h);
  return out;
}

OggPages ogg_pages(std::span<const std::uint8_t> bytes) {
  OggPages out;
  ogg_sync_state sync;
  ogg_sync_init(&sync);
  char* buffer = ogg_sync_buffer(&sync, static_cast<long>(bytes.size()));
  std::memcpy(buffer, bytes.data(), bytes.size());
  ogg_sync_wrote(&sync, static_cast<long>(bytes.size()));
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
    out.pages.push_back(OggPage{ogg_page_granulepos(&page), ogg_page_bos(&page) != 0, ogg_page_eos(&page) != 0,
                                ogg_page_packets(&page), offset});
  }
  ogg_sync_clear(&sync);
  return out;
}

}  // namespace hs::test
