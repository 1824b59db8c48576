// The safetensors header parser (engine/io/safetensors_header.h). Input: the data section's size
// as 8 little-endian bytes, then the header JSON. Every header is either a FormatError or tensors
// that tile the data section exactly, each exactly as large as its shape and dtype say; any other
// exception, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/core/error.h"
#include "engine/io/safetensors_header.h"
#include "fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kSizeBytes = 8;
  if (size < kSizeBytes) return 0;
  std::uint64_t data_bytes = 0;
  for (std::size_t i = kSizeBytes; i-- > 0;) data_bytes = (data_bytes << 8) | data[i];
  const std::string_view text(reinterpret_cast<const char*>(data) + kSizeBytes, size - kSizeBytes);

  hs::SafetensorsHeader header;
  try {
    header = hs::parse_safetensors_header(text, data_bytes, "fuzz.safetensors");
  } catch (const hs::FormatError&) {
    return 0;
  }
  std::uint64_t offset = 0;
  for (const hs::TensorInfo& t : header.tensors) {
    FUZZ_CHECK(!t.name.empty(), "a tensor has an empty name");
    FUZZ_CHECK(t.begin == offset, "tensors do not tile the data section");
    unsigned __int128 bytes = hs::dtype_size(t.dtype);
    for (const std::int64_t d : t.shape) {
      FUZZ_CHECK(d >= 0, "a negative dimension was accepted");
      bytes *= static_cast<std::uint64_t>(d);
      if (bytes > data_bytes) bytes = static_cast<unsigned __int128>(data_bytes) + 1;  // no wrapping
    }
    FUZZ_CHECK(bytes == t.end - t.begin, "a tensor's data_offsets do not match its shape and dtype");
    offset = t.end;
  }
  FUZZ_CHECK(offset == data_bytes, "tensors do not cover the data section");
  return 0;
}
