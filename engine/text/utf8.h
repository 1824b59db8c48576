// UTF-8 helpers for the tokenizer: lossy validation (invalid sequences → U+FFFD, as Python's
// errors="replace" and Rust's String::from_utf8_lossy do) and code point iteration.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hs::utf8 {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// `bytes` with every maximal ill-formed subsequence replaced by one U+FFFD (Unicode's
// "substitution of maximal subparts", the practice of WHATWG, Python and Rust).
std::string sanitize(std::string_view bytes);

// Decodes the code point starting at `pos` of valid UTF-8 `text` and advances `pos` past it.
char32_t next(std::string_view text, std::size_t& pos);

// Appends the UTF-8 encoding of `cp` (a Unicode scalar value) to `out`.
void append(std::string& out, char32_t cp);

}  // namespace hs::utf8
