// The GPT-2 byte-level alphabet HuggingFace's ByteLevel pre-tokenizer and decoder use: each of
// the 256 byte values is shown as one printable code point (printable Latin-1 bytes as
// themselves, the others as U+0100 + k), so BPE runs over text that has no control characters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hs::byte_level {

// The code point that stands for byte `b`.
char32_t byte_to_char(std::uint8_t b);

// UTF-8 text of the code points standing for each byte of `bytes`.
std::string encode(std::string_view bytes);

// The bytes a token string stands for, or nullopt when one of its code points is not in the
// byte alphabet (such tokens decode to their own UTF-8, as the HuggingFace decoder does).
std::optional<std::string> decode(std::string_view token);

}  // namespace hs::byte_level
