#include "engine/text/unicode_lower.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/text/utf8.h"

namespace hs {
namespace {

struct LowerRun {
  char32_t first;
  char32_t last;
  std::int32_t delta;
  char32_t stride;
};

struct CodeRange {
  char32_t first;
  char32_t last;
};

#include "engine/text/unicode_case_tables.inc"

constexpr char32_t kCapitalSigma = 0x3A3;
constexpr char32_t kSmallSigma = 0x3C3;
constexpr char32_t kFinalSigma = 0x3C2;
constexpr char32_t kCapitalIWithDot = 0x130;
constexpr char32_t kCombiningDotAbove = 0x307;

template <typename Range, std::size_t N>
const Range* find_range(const Range (&table)[N], char32_t cp) {
  const Range* it = std::upper_bound(std::begin(table), std::end(table), cp,
                                     [](char32_t c, const Range& r) { return c < r.first; });
  if (it == std::begin(table)) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

char32_t simple_lower(char32_t cp) {
  const LowerRun* run = find_range(kLowerRuns, cp);
  if (run == nullptr || (cp - run->first) % run->stride != 0) return cp;
  return static_cast<char32_t>(static_cast<std::int64_t>(cp) + run->delta);
}

bool is_cased(char32_t cp) { return find_range(kCasedRanges, cp) != nullptr; }
bool is_case_ignorable(char32_t cp) { return find_range(kCaseIgnorableRanges, cp) != nullptr; }

// Final_Sigma (Unicode 3.13, as CPython applies it): preceded by a cased letter and not followed
// by one, skipping case-ignorable characters on both sides.
bool is_final_sigma(const std::vector<char32_t>& cps, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && is_case_ignorable(cps[j - 1])) --j;
  if (j == 0 || !is_cased(cps[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < cps.size() && is_case_ignorable(cps[k])) ++k;
  return k == cps.size() || !is_cased(cps[k]);
}

}  // namespace

std::string unicode_lower(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) cps.push_back(utf8::next(text, pos));
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp));
    } else if (cp == kCapitalSigma) {
      utf8::append(out, is_final_sigma(cps, i) ? kFinalSigma : kSmallSigma);
    } else if (cp == kCapitalIWithDot) {
      out.push_back('i');
      utf8::append(out, kCombiningDotAbove);
    } else {
      utf8::append(out, simple_lower(cp));
    }
  }
  return out;
}

}  // namespace hs
