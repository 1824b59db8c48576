#include "engine/text/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::size_t kErrorMessageBytes = 256;
// Unicode's White_Space property (unchanged since Unicode 6.3), as character-class contents.
constexpr std::string_view kWhiteSpaceSet =
    R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
// JIT stack for deep matches; PCRE2's default (32 KiB) is small for very long runs.
constexpr std::size_t kJitStackStartBytes = 32 * 1024;
constexpr std::size_t kJitStackMaxBytes = 1024 * 1024;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[kErrorMessageBytes];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match resources (match data sized for any pattern without captures is enough:
// only the whole-match span is read).
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* jit_stack =
      pcre2_jit_stack_create(kJitStackStartBytes, kJitStackMaxBytes, nullptr);
  ThreadMatchState() {
    if (data == nullptr || context == nullptr) throw Error("PCRE2: out of memory for match data");
    if (jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& thread_match_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

struct SplitRegex::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() { pcre2_code_free(code); }
};

std::string rewrite_space_classes(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpaceSet) : "[" + std::string(kWhiteSpaceSet) + "]";
      } else if (e == 'S') {
        if (in_class)
          throw FormatError("split regex: \\S inside a character class is not supported");
        out += "[^" + std::string(kWhiteSpaceSet) + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    // A ']' right after '[' or '[^' is a literal, not the end of the class.
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

SplitRegex::SplitRegex(std::string_view pattern) : compiled_(std::make_unique<Compiled>()) {
  const std::string rewritten = rewrite_space_classes(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                  PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (compiled_->code == nullptr)
    throw FormatError("split regex does not compile (PCRE2: " + pcre2_message(error) +
                      " at offset " + std::to_string(offset) + "): " + std::string(pattern));
  // Falls back to the interpreter when the library was built without JIT support.
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

SplitRegex::~SplitRegex() = default;
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;

bool SplitRegex::jit() const { return compiled_->jit; }

void SplitRegex::split(std::string_view text, std::vector<ByteSpan>& out) const {
  ThreadMatchState& state = thread_match_state();
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t pos = 0;
  std::size_t gap_begin = 0;
  while (pos <= text.size()) {
    // The caller guarantees valid UTF-8, so PCRE2 need not re-check the subject on every call.
    const int rc = pcre2_match(compiled_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK,
                               state.data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0)
      throw InvalidArgument("split regex failed on the input (PCRE2: " + pcre2_message(rc) + ")");
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    if (begin > gap_begin) out.emplace_back(gap_begin, begin);
    if (end > begin) {
      out.emplace_back(begin, end);
      pos = end;
    } else {
      // An empty match: step over one whole code point so the next search makes progress.
      pos = end + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
    gap_begin = end;
  }
  if (text.size() > gap_begin) out.emplace_back(gap_begin, text.size());
}

}  // namespace hs
