// Typed errors with context. Every layer throws these; callers at a session boundary turn them
// into a message for that session only (STYLE.md 5).
#pragma once

#include <stdexcept>
#include <string>

namespace hs {

// Base of every error heartstream throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file (checkpoint, tokenizer, config, tensors file) is missing, unreadable or malformed.
class FormatError : public Error {
 public:
  using Error::Error;
};

// A caller passed arguments that cannot work (shapes, dtypes, parameters out of range).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// Device memory ran out: the GPU's, or the budget the engine was given (--vram_budget_gb).
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

}  // namespace hs

// Throws hs::InvalidArgument naming the failed condition and its location.
#define HS_CHECK(cond, msg)                                                                    \
  do {                                                                                         \
    if (!(cond))                                                                               \
      throw ::hs::InvalidArgument(std::string(msg) + " [" #cond " at " __FILE__ ":" +          \
                                  std::to_string(__LINE__) + "]");                             \
  } while (0)
