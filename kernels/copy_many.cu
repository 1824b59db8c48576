#include "kernels/common.cuh"
#include "kernels/copy_many.cuh"

namespace hs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr std::uint64_t kBytesPerBlock = 16 * kThreads * 4;  // four 16-byte vectors per thread

template <typename Word>
__device__ void copy_words(const CopyEntry& e, std::uint64_t begin, std::uint64_t end) {
  const auto* src = static_cast<const Word*>(e.src);
  auto* dst = static_cast<Word*>(e.dst);
  for (std::uint64_t i = begin / sizeof(Word) + threadIdx.x; i < end / sizeof(Word); i += blockDim.x) dst[i] = src[i];
}

}  // namespace

static __global__ void copy_many_kernel(const CopyEntry* entries) {
  await_previous_kernel();
  const CopyEntry e = entries[blockIdx.y];
  const std::uint64_t begin = blockIdx.x * kBytesPerBlock;
  if (begin >= e.bytes) return;
  const std::uint64_t end = begin + kBytesPerBlock < e.bytes ? begin + kBytesPerBlock : e.bytes;
  const auto aligned = [&](std::uint64_t a) {
    return ((reinterpret_cast<std::uintptr_t>(e.src) | reinterpret_cast<std::uintptr_t>(e.dst) | e.bytes) % a) == 0;
  };
  if (aligned(16)) copy_words<uint4>(e, begin, end);
  else if (aligned(4)) copy_words<std::uint32_t>(e, begin, end);
  else copy_words<std::uint8_t>(e, begin, end);
}

void copy_many(const CopyEntry* entries, int count, std::uint64_t largest, cudaStream_t stream) {
  if (count == 0 || largest == 0) return;
  const dim3 grid(static_cast<unsigned>((largest + kBytesPerBlock - 1) / kBytesPerBlock), static_cast<unsigned>(count));
  launch(copy_many_kernel, grid, kThreads, stream, entries);
}

}  // namespace hs::kernels
