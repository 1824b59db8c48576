// tokenizer.json loading (engine/text/tokenizer.h): the input is the file. Every file is either a
// Tokenizer or a FormatError naming the file; a tokenizer that loads encodes text to ids inside
// its vocabulary. Any other exception, a crash, a hang or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "engine/text/tokenizer.h"
#include "fuzz/check.h"
#include "fuzz/temp_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = hs::fuzz::scratch_dir() / "tokenizer.json";
  hs::fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  std::optional<hs::Tokenizer> tokenizer;
  try {
    tokenizer = hs::Tokenizer::load(path);
  } catch (const hs::FormatError& e) {
    FUZZ_CHECK(std::string_view(e.what()).find(path.string()) != std::string_view::npos,
               "a tokenizer error that does not name the file");
    return 0;
  }
  for (const std::string_view text : {"", "piano, happy", "[verse]\nla la\tla 123 <s>", "\xff\xfe caf\xc3\xa9"}) {
    for (const std::int32_t id : tokenizer->encode(text))
      FUZZ_CHECK(id >= 0 && static_cast<std::size_t>(id) < tokenizer->vocab_size(), "an id outside the vocabulary");
  }
  return 0;
}
