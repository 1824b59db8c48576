// draw_start_noise: songs with sources of their own draw in parallel and a shared source's draws
// stay in song order, so the rows are exactly those of the serial loop the flow solve used to run
// (skip, then fill, song after song), and a replayed source gets the reference's draws.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/noise.h"
#include "engine/model/codec/flow_matching.h"

namespace hs {
namespace {

constexpr std::int64_t kFrames = 12, kContext = 5, kChannels = 7;

// Song s's rows as a serial loop draws them from `source`.
Tensor serial_rows(NoiseSource& source) {
  Tensor unread = Tensor::zeros({1, kFrames - kContext, kChannels}, DType::F32);
  Tensor rows = Tensor::zeros({1, kFrames, kChannels}, DType::F32);
  source.fill(unread);
  source.fill(rows);
  return rows.reshape({kFrames, kChannels});
}

bool same_rows(const Tensor& all, std::int64_t song, const Tensor& want) {
  const Tensor got = all.slice(song * kFrames, (song + 1) * kFrames).clone();
  return std::memcmp(got.raw(), want.raw(), static_cast<std::size_t>(want.numel()) * sizeof(float)) == 0;
}

TEST(StartNoise, SongsWithTheirOwnSourcesEqualTheSerialDraws) {
  constexpr int kSongs = 9;  // more than the pool's threads on a small machine: chunks of several songs
  std::vector<std::unique_ptr<GaussianNoise>> sources;
  std::vector<NoiseSource*> noises;
  for (int s = 0; s < kSongs; ++s) {
    sources.push_back(std::make_unique<GaussianNoise>(100 + s));
    noises.push_back(sources.back().get());
  }
  const Tensor all = draw_start_noise(noises, kFrames, kContext, kChannels);
  ASSERT_EQ(all.shape(), (Shape{kSongs * kFrames, kChannels}));
  for (int s = 0; s < kSongs; ++s) {
    GaussianNoise again(100 + s);
    EXPECT_TRUE(same_rows(all, s, serial_rows(again))) << "song " << s;
  }
}

TEST(StartNoise, ASharedSourceDrawsInSongOrder) {
  GaussianNoise shared(5), other(6), serial_shared(5), serial_other(6);
  NoiseSource* noises[] = {&shared, &other, &shared};
  const Tensor all = draw_start_noise(noises, kFrames, kContext, kChannels);
  const Tensor first = serial_rows(serial_shared), third = serial_rows(serial_shared);
  EXPECT_TRUE(same_rows(all, 0, first));
  EXPECT_TRUE(same_rows(all, 1, serial_rows(serial_other)));
  EXPECT_TRUE(same_rows(all, 2, third));
}

TEST(StartNoise, AReplayGetsItsRecordingsAndChecksTheirShapes) {
  const Tensor unread = Tensor::zeros({1, kFrames - kContext, kChannels}, DType::F32);
  Tensor start = Tensor::zeros({1, kFrames, kChannels}, DType::F32);
  GaussianNoise values(3);
  values.fill(start);
  ReplayNoise replay({unread, start});
  NoiseSource* noises[] = {&replay};
  const Tensor all = draw_start_noise(noises, kFrames, kContext, kChannels);
  EXPECT_TRUE(same_rows(all, 0, start.reshape({kFrames, kChannels})));
  EXPECT_EQ(replay.used(), 2u);
  ReplayNoise misshapen({start, start});
  NoiseSource* bad[] = {&misshapen};
  EXPECT_THROW(draw_start_noise(bad, kFrames, kContext, kChannels), InvalidArgument);
}

}  // namespace
}  // namespace hs
