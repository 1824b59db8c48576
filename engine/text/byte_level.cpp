#include "engine/text/byte_level.h"

#include <array>

#include "engine/text/utf8.h"

namespace hs::byte_level {
namespace {

// Code points below this bound are the only ones the alphabet uses (U+0100 + 67 shifted bytes).
constexpr char32_t kAlphabetEnd = 0x144;
constexpr int kNoByte = -1;

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int, kAlphabetEnd> to_byte{};
};

// GPT-2's bytes_to_unicode(): bytes in '!'..'~', '¡'..'¬', '®'..'ÿ' map to themselves, the
// remaining 68 bytes in increasing order to U+0100, U+0101, ...
Tables make_tables() {
  Tables t;
  t.to_byte.fill(kNoByte);
  const auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  char32_t shifted = 0x100;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = printable(b) ? static_cast<char32_t>(b) : shifted++;
    t.to_char[b] = cp;
    t.to_byte[cp] = b;
  }
  return t;
}

const Tables& tables() {
  static const Tables t = make_tables();
  return t;
}

}  // namespace

char32_t byte_to_char(std::uint8_t b) { return tables().to_char[b]; }

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) utf8::append(out, byte_to_char(static_cast<std::uint8_t>(c)));
  return out;
}

std::optional<std::string> decode(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  std::size_t pos = 0;
  while (pos < token.size()) {
    const char32_t cp = utf8::next(token, pos);
    if (cp >= kAlphabetEnd || tables().to_byte[cp] == kNoByte) return std::nullopt;
    out.push_back(static_cast<char>(tables().to_byte[cp]));
  }
  return out;
}

}  // namespace hs::byte_level
