// Parsing and validation of a safetensors header (internal to engine/io).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/safetensors.h"

namespace hs {

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // ascending data offsets
  std::map<std::string, std::string> metadata;
};

// Validates the header JSON `text` of `file` whose data section holds `data_bytes` bytes: closed
// field and dtype lists, sizes matching shapes, tensors tiling the data section exactly.
// Throws FormatError naming `file`, the tensor and the problem.
SafetensorsHeader parse_safetensors_header(std::string_view text, std::uint64_t data_bytes,
                                           const std::string& file);

// "safetensors file '<file>'" — the prefix of every error about that file.
std::string safetensors_label(const std::string& file);

}  // namespace hs
