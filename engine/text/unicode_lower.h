// Unicode lower-casing that reproduces Python's str.lower(), which the reference applies to tags
// and lyrics: the full lowercase mapping of every code point (U+0130 İ → "i̇", the one mapping
// longer than one code point) and the Final_Sigma rule (Σ → ς at the end of a word).
//
// Limits: the tables come from Unicode 14.0 (Python 3.11); code points assigned later keep their
// case. Case_Ignorable is derived from general categories plus Word_Break Mid* characters,
// which is its definition; no language-specific (Turkish/Lithuanian) tailoring, like Python.
#pragma once

#include <string>
#include <string_view>

namespace hs {

// Lower-cased copy of valid UTF-8 `text`.
std::string unicode_lower(std::string_view text);

}  // namespace hs
