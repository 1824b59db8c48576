// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, as in Random123 / cuRAND).
// Plain inline functions on 32-bit integers so the same code runs on the host and, marked
// __host__ __device__ by a CUDA wrapper, in kernels: a draw is a pure function of
// (seed, counter, index), so no generator state has to live anywhere but in two integers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace hs {

using PhiloxBlock = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
inline constexpr int kPhiloxRounds = 10;

// One Philox4x32-10 block: 4 random 32-bit words from a 128-bit counter and a 64-bit key.
inline PhiloxBlock philox4x32_10(PhiloxBlock ctr, PhiloxKey key) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const std::uint64_t p0 = std::uint64_t{kPhiloxM0} * ctr[0];
    const std::uint64_t p1 = std::uint64_t{kPhiloxM1} * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key[0] += kPhiloxW0;
    key[1] += kPhiloxW1;
  }
  return ctr;
}

// The 32-bit word number `index` of the stream (seed, counter): block index/4 of the counter
// {index/4 (64 bits), counter (64 bits)} under the key `seed`, lane index % 4.
inline std::uint32_t philox_word(std::uint64_t seed, std::uint64_t counter, std::uint64_t index) {
  const std::uint64_t block = index / 4;
  const PhiloxBlock out = philox4x32_10(
      {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
       static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32)},
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  return out[index % 4];
}

// A uniform float in the open interval (0, 1) from the top 23 bits of a word: (m + 0.5)·2⁻²³ is
// exact in fp32 and lies in [2⁻²⁴, 1 − 2⁻²⁴] (24 bits would round the top value up to 1).
inline float uniform_open01(std::uint32_t word) {
  constexpr float kTwoPowMinus23 = 1.0f / 8388608.0f;
  return (static_cast<float>(word >> 9) + 0.5f) * kTwoPowMinus23;
}

// An Exp(1) variate (strictly positive, finite) for (seed, counter, index).
inline float exponential_variate(std::uint64_t seed, std::uint64_t counter, std::uint64_t index) {
  return -std::log(uniform_open01(philox_word(seed, counter, index)));
}

}  // namespace hs
