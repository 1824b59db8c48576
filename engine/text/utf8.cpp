#include "engine/text/utf8.h"

#include <cstdint>

namespace hs::utf8 {
namespace {

// Length of the longest well-formed prefix of a sequence starting at `pos` (Unicode Table 3-7),
// or 0 with `subpart` set to the length of the maximal ill-formed subpart to replace.
std::size_t valid_sequence_length(std::string_view s, std::size_t pos, std::size_t& subpart) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t b0 = byte(pos);
  subpart = 1;
  if (b0 < 0x80) return 1;
  std::size_t need = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // C0, C1, F5..FF and stray continuation bytes
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (pos + k >= s.size()) return 0;
    const std::uint8_t b = byte(pos + k);
    const std::uint8_t min = k == 1 ? lo : 0x80;
    const std::uint8_t max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
    subpart = k + 1;
  }
  return need + 1;
}

}  // namespace

std::string sanitize(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t subpart = 0;
    const std::size_t n = valid_sequence_length(bytes, pos, subpart);
    if (n > 0) {
      out.append(bytes.substr(pos, n));
      pos += n;
    } else {
      append(out, kReplacementChar);
      pos += subpart;
    }
  }
  return out;
}

char32_t next(std::string_view text, std::size_t& pos) {
  const auto b0 = static_cast<std::uint8_t>(text[pos]);
  std::size_t n = 1;
  char32_t cp = b0;
  if (b0 >= 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else if (b0 >= 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  }
  for (std::size_t k = 1; k < n; ++k)
    cp = (cp << 6) | (static_cast<std::uint8_t>(text[pos + k]) & 0x3F);
  pos += n;
  return cp;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace hs::utf8
