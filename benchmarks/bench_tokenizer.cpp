// Tokenizer speed on the Llama-3 tokenizer.json: encode throughput on ~100 KB of multilingual
// lyrics (tokens/s as items_per_second, bytes/s), a 200 KB no-space CJK "word" (the BPE merge
// loop without the word cache), decode throughput, and the load time of the file.
// The file is $HEARTSTREAM_SHARED_DIR/tokenizer/llama3-tokenizer.json, else the configured folder.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "engine/text/tokenizer.h"
#include "engine/text/utf8.h"

namespace {

constexpr std::size_t kLyricsBytes = 100 * 1024;
constexpr std::size_t kCjkWordBytes = 200 * 1024;
constexpr unsigned kSeed = 7;

std::optional<std::filesystem::path> tokenizer_path() {
  const char* env = std::getenv("HEARTSTREAM_SHARED_DIR");
  const std::filesystem::path root = env && *env ? env : HEARTSTREAM_SHARED_DIR;
  const auto path = root / "tokenizer" / "llama3-tokenizer.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  return path;
}

const hs::Tokenizer* shared_tokenizer() {
  static const std::optional<hs::Tokenizer> tokenizer = []() -> std::optional<hs::Tokenizer> {
    const auto path = tokenizer_path();
    if (!path) return std::nullopt;
    return hs::Tokenizer::load(*path);
  }();
  return tokenizer ? &*tokenizer : nullptr;
}

// Song-like lines in several scripts, numbered so that not every line repeats verbatim.
std::string lyrics_text(std::size_t bytes) {
  static const char* const kLines[] = {
      "[Verse]",
      "Every day the light returns, every night the fire burns",
      "We were young and we were reckless, dancing on the edge of time",
      "雨の日も 晴れの日も、君を想う。",
      "我爱你，中国！今天天气很好。",
      "사랑해요 오늘도 내일도",
      "¿Dónde estás, corazón? ¡Aquí, bajo la luna!",
      "Ça va? Très bien, merci. Œuvre naïve",
      "Привет, мир! Я люблю музыку.",
      "Ελληνικά γράμματα στο φως",
      "مرحبا بالعالم",
      "नमस्ते दुनिया",
      "[Chorus]",
      "Oh oh oh, na na na — can't stop, won't stop (yeah!)",
      "",
  };
  std::string out;
  for (std::size_t verse = 1; out.size() < bytes; ++verse) {
    for (const char* line : kLines) out += std::string(line) + "\n";
    out += "[Bridge " + std::to_string(verse) + "] 1, 2, 3, 4 — " + std::to_string(verse * 37) +
           " steps\n\n";
  }
  out.resize(bytes);
  return hs::utf8::sanitize(out);  // the cut may split a character
}

std::string random_cjk_word(std::size_t bytes) {
  std::mt19937 rng(kSeed);
  std::uniform_int_distribution<std::uint32_t> dist(0x4E00, 0x9FFF);
  std::string out;
  while (out.size() < bytes) hs::utf8::append(out, dist(rng));
  return out;
}

void encode_benchmark(benchmark::State& state, const std::string& text) {
  const hs::Tokenizer* tokenizer = shared_tokenizer();
  if (tokenizer == nullptr) {
    state.SkipWithError("tokenizer/llama3-tokenizer.json not found (set HEARTSTREAM_SHARED_DIR)");
    return;
  }
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tokenizer->encode(text, false);
    tokens += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(tokens));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens) / static_cast<double>(state.iterations());
}

void BM_EncodeLyrics(benchmark::State& state) {
  encode_benchmark(state, lyrics_text(kLyricsBytes));
}
BENCHMARK(BM_EncodeLyrics)->Unit(benchmark::kMillisecond);

void BM_EncodeCjkWithoutSpaces(benchmark::State& state) {
  encode_benchmark(state, random_cjk_word(kCjkWordBytes));
}
BENCHMARK(BM_EncodeCjkWithoutSpaces)->Unit(benchmark::kMillisecond);

void BM_DecodeLyrics(benchmark::State& state) {
  const hs::Tokenizer* tokenizer = shared_tokenizer();
  if (tokenizer == nullptr) {
    state.SkipWithError("tokenizer/llama3-tokenizer.json not found (set HEARTSTREAM_SHARED_DIR)");
    return;
  }
  const auto ids = tokenizer->encode(lyrics_text(kLyricsBytes), false);
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer->decode(ids));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_DecodeLyrics)->Unit(benchmark::kMillisecond);

void BM_LoadTokenizer(benchmark::State& state) {
  const auto path = tokenizer_path();
  if (!path) {
    state.SkipWithError("tokenizer/llama3-tokenizer.json not found (set HEARTSTREAM_SHARED_DIR)");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(hs::Tokenizer::load(*path));
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * std::filesystem::file_size(*path)));
}
BENCHMARK(BM_LoadTokenizer)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
