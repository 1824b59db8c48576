#include "daemon/audio/safetensors_file_sink.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"

namespace hs {

SafetensorsFileSink::SafetensorsFileSink(std::filesystem::path path, int sample_rate_hz,
                                         int channels)
    : path_(std::move(path)), sample_rate_hz_(sample_rate_hz) {
  HS_CHECK(
      sample_rate_hz > 0 && channels > 0,
      "safetensors audio needs a positive sample rate and channel count for " + path_.string());
  const std::filesystem::path folder = path_.has_parent_path() ? path_.parent_path() : ".";
  if (::access(folder.c_str(), W_OK) != 0)
    throw Error("audio output file '" + path_.string() + "': cannot write to folder '" +
                folder.string() + "': " + std::strerror(errno));
  channels_.resize(static_cast<std::size_t>(channels));
}

void SafetensorsFileSink::write(const float* interleaved, std::size_t frames) {
  HS_CHECK(!finished_, "SafetensorsFileSink::write after finish: " + path_.string());
  const std::size_t channels = channels_.size();
  for (std::size_t c = 0; c < channels; ++c) {
    std::vector<float>& out = channels_[c];
    out.reserve(out.size() + frames);
    for (std::size_t i = 0; i < frames; ++i) out.push_back(interleaved[i * channels + c]);
  }
}

void SafetensorsFileSink::finish() {
  HS_CHECK(!finished_, "SafetensorsFileSink::finish called twice: " + path_.string());
  finished_ = true;
  const auto frames = static_cast<std::int64_t>(channels_.front().size());
  Tensor wav = Tensor::zeros({static_cast<std::int64_t>(channels_.size()), frames}, DType::F32);
  float* dst = wav.data<float>();
  for (const std::vector<float>& channel : channels_)
    dst = std::copy(channel.begin(), channel.end(), dst);
  write_safetensors(path_, {{kSafetensorsAudioTensor, wav}},
                    {{"sample_rate", std::to_string(sample_rate_hz_)}});
}

}  // namespace hs
