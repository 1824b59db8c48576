// Songs for CodecBatch tests (CPU and CUDA): different codes, seeds and lengths, arriving at
// different rounds and skipping some (paused), one dropped mid-song, so calls mix shapes and sizes
// and groups outgrow a call. Each song's audio and chunk latents, decoded together or alone.
#pragma once

#include <memory>
#include <random>
#include <vector>

#include "engine/core/noise.h"
#include "engine/pipeline/codec_batch.h"
#include "engine/pipeline/streaming_decoder.h"

namespace hs::test {

struct BatchSong {
  std::uint64_t seed;
  std::int64_t arrives;  // the round of its first frame
  std::int64_t frames;   // pushed before its end
  bool dropped;          // destroyed after `frames`, without finish()
  std::vector<std::vector<std::int32_t>> codes{};
};

struct SongOutput {
  std::vector<float> pcm;
  std::vector<float> latents;  // every chunk's new latents, in order
};

inline std::vector<BatchSong> batch_songs(std::int64_t quantizers, std::int64_t codebook_size) {
  std::vector<BatchSong> out{{11, 0, 40, false}, {12, 0, 27, false}, {13, 0, 40, false}, {14, 5, 31, false},
                             {15, 0, 40, false}, {16, 2, 20, true},  {17, 0, 9, false}};
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::int32_t> code(0, static_cast<std::int32_t>(codebook_size) - 1);
  for (BatchSong& s : out)
    for (std::int64_t t = 0; t < s.frames; ++t) {
      std::vector<std::int32_t> frame(static_cast<std::size_t>(quantizers));
      for (auto& c : frame) c = code(rng);
      s.codes.push_back(frame);
    }
  return out;
}

// Short chunks so a song has several: a first of 3 frames, then 6, carrying 4; the decoder takes
// a 6-frame chunk's latents in two pushes (4 frames, then 2).
inline StreamingDecoderOptions batch_song_options(const CodecModel& model, CodecBatch* batch, SongOutput& out) {
  StreamingDecoderOptions o;
  o.chunk_frames = 6;
  o.first_chunk_frames = 3;
  o.context_frames = 4;
  o.decoder_frames = 4;
  o.batch = batch;
  o.on_latents = [&model, &out](const Tensor& latents, std::int64_t) {
    const Tensor host = model.backend().download(latents);
    out.latents.insert(out.latents.end(), host.data<float>(), host.data<float>() + host.numel());
  };
  return o;
}

inline void append_pull(StreamingDecoder& decoder, SongOutput& out) {
  const auto part = decoder.pull();
  out.pcm.insert(out.pcm.end(), part.begin(), part.end());
}

inline SongOutput decode_alone(const CodecModel& model, const BatchSong& song) {
  SongOutput out;
  GaussianNoise noise(song.seed);
  StreamingDecoder decoder(model, noise, batch_song_options(model, nullptr, out));
  for (const auto& frame : song.codes) {
    decoder.push(frame);
    append_pull(decoder, out);
  }
  if (!song.dropped) decoder.finish();
  append_pull(decoder, out);
  return out;
}

// Every song through one CodecBatch of calls of up to `max_songs`, one frame per song per round.
inline std::vector<SongOutput> decode_together(const CodecModel& model, const std::vector<BatchSong>& songs,
                                               CodecBatch& batch) {
  std::vector<SongOutput> out(songs.size());
  std::vector<std::unique_ptr<GaussianNoise>> noises;
  std::vector<std::unique_ptr<StreamingDecoder>> decoders;
  for (std::size_t i = 0; i < songs.size(); ++i) {
    noises.push_back(std::make_unique<GaussianNoise>(songs[i].seed));
    decoders.push_back(std::make_unique<StreamingDecoder>(model, *noises.back(), batch_song_options(model, &batch, out[i])));
  }
  std::vector<std::size_t> next(songs.size(), 0);  // each song's next frame
  for (std::int64_t round = 0; round < 100; ++round) {
    std::vector<StreamingDecoder*> running;
    std::vector<std::size_t> ending;
    for (std::size_t i = 0; i < songs.size(); ++i) {
      const BatchSong& s = songs[i];
      if (!decoders[i] || round < s.arrives || (round * static_cast<std::int64_t>(i + 1)) % 5 == 3) continue;
      if (next[i] == s.codes.size()) {
        if (s.dropped) decoders[i].reset();  // a held chunk goes with it
        continue;
      }
      decoders[i]->push(s.codes[next[i]++]);
      running.push_back(decoders[i].get());
      if (next[i] == s.codes.size() && !s.dropped) ending.push_back(i);
    }
    batch.run(running);
    for (std::size_t i : ending) decoders[i]->finish();
    for (std::size_t i = 0; i < songs.size(); ++i)
      if (decoders[i]) append_pull(*decoders[i], out[i]);
  }
  return out;
}

}  // namespace hs::test
