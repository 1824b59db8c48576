// One seed per song drives both of its random streams: the LM sampler draws from the seed itself,
// the codec's flow-matching noise from a salted copy (same song seed, independent draws). Shared
// by `heartstream generate`, `heartstream decode` and the daemon, so a song's seed reproduces its
// audio whichever of them decodes its tokens.
#pragma once

#include <cstdint>

namespace hs {

// The salt: the 64-bit golden-ratio constant, so nearby song seeds give unrelated codec seeds.
inline constexpr std::uint64_t kCodecSeedSalt = 0x9E3779B97F4A7C15ull;

// The seed of the codec's GaussianNoise for the song seeded with `song_seed`.
constexpr std::uint64_t codec_noise_seed(std::uint64_t song_seed) { return song_seed ^ kCodecSeedSalt; }

}  // namespace hs
