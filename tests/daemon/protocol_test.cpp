// daemon/protocol: generate/cancel parse with defaults and limits from the configuration; every
// kind of bad message is a ProtocolError with its own code and a message naming the field; the
// server messages carry the documented fields.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "daemon/protocol.h"

namespace hs::daemon {
namespace {

namespace json = boost::json;

GenerationConfig limits() {
  GenerationConfig g;
  g.max_tags_bytes = 16;
  g.max_audio_length_ms = 20000;
  g.max_audio_length_ms_limit = 60000;
  return g;
}

// The (code, message) a bad message is rejected with.
std::pair<std::string, std::string> rejection(const std::string& text) {
  try {
    parse_client_message(text, limits());
  } catch (const ProtocolError& e) {
    return {std::string(e.code()), e.what()};
  }
  return {"accepted", ""};
}

TEST(Protocol, GenerateTakesDefaultsFromTheConfig) {
  const auto m = parse_client_message(R"({"type":"generate","tags":"pop","lyrics":"la la"})", limits());
  const auto& p = std::get<GenerateMessage>(m).params;
  EXPECT_EQ(p.tags, "pop");
  EXPECT_EQ(p.lyrics, "la la");
  EXPECT_EQ(p.max_audio_length_ms, 20000);
  EXPECT_EQ(p.topk, 50);
  EXPECT_DOUBLE_EQ(p.temperature, 1.0);
  EXPECT_DOUBLE_EQ(p.cfg_scale, 1.5);
  EXPECT_FALSE(p.seed);
}

TEST(Protocol, GenerateTakesEveryField) {
  const auto m = parse_client_message(
      R"({"type":"generate","tags":"rock","lyrics":"","max_audio_length_ms":8000,"temperature":0.7,"topk":1,)"
      R"("cfg_scale":1,"seed":18446744073709551615})",
      limits());
  const auto& p = std::get<GenerateMessage>(m).params;
  EXPECT_EQ(p.max_audio_length_ms, 8000);
  EXPECT_DOUBLE_EQ(p.temperature, 0.7);
  EXPECT_EQ(p.topk, 1);
  EXPECT_DOUBLE_EQ(p.cfg_scale, 1.0);
  EXPECT_EQ(*p.seed, 18446744073709551615ull);
}

TEST(Protocol, Cancel) {
  EXPECT_TRUE(std::holds_alternative<CancelMessage>(parse_client_message(R"({"type":"cancel"})", limits())));
}

TEST(Protocol, BadMessagesHaveSpecificCodesAndNameTheField) {
  struct Case {
    const char* text;
    std::string_view code;
    const char* in_message;
  };
  const Case cases[] = {
      {"{not json", error_code::kBadJson, "malformed JSON"},
      {"[1,2]", error_code::kBadJson, "JSON object"},
      {R"({"tags":"x"})", error_code::kMissingField, "'type'"},
      {R"({"type":7})", error_code::kBadType, "'type'"},
      {R"({"type":"dance"})", error_code::kUnknownType, "'dance'"},
      {R"({"type":"generate","lyrics":""})", error_code::kMissingField, "'tags'"},
      {R"({"type":"generate","tags":"x"})", error_code::kMissingField, "'lyrics'"},
      {R"({"type":"generate","tags":5,"lyrics":""})", error_code::kBadType, "'tags'"},
      {R"({"type":"generate","tags":"x","lyrics":"","topk":"5"})", error_code::kBadType, "'topk'"},
      {R"({"type":"generate","tags":"x","lyrics":"","topk":2.5})", error_code::kBadType, "'topk'"},
      {R"({"type":"generate","tags":"x","lyrics":"","topk":0})", error_code::kOutOfRange, "'topk'"},
      {R"({"type":"generate","tags":"x","lyrics":"","temperature":"hot"})", error_code::kBadType, "'temperature'"},
      {R"({"type":"generate","tags":"x","lyrics":"","temperature":-0.1})", error_code::kOutOfRange, "'temperature'"},
      {R"({"type":"generate","tags":"x","lyrics":"","cfg_scale":1e9})", error_code::kOutOfRange, "'cfg_scale'"},
      {R"({"type":"generate","tags":"x","lyrics":"","max_audio_length_ms":60001})", error_code::kOutOfRange,
       "'max_audio_length_ms' must be in 80..60000"},
      {R"({"type":"generate","tags":"x","lyrics":"","max_audio_length_ms":10})", error_code::kOutOfRange,
       "'max_audio_length_ms'"},
      {R"({"type":"generate","tags":"x","lyrics":"","seed":-1})", error_code::kOutOfRange, "'seed'"},
      {R"({"type":"generate","tags":"x","lyrics":"","seed":1.5})", error_code::kBadType, "'seed'"},
      {R"({"type":"generate","tags":"this is far too long","lyrics":""})", error_code::kOutOfRange,
       "'tags' is 20 bytes; the limit is 16"},
      {R"({"type":"generate","tags":"x","lyrics":"","top_p":0.9})", error_code::kUnknownField, "'top_p'"},
      {R"({"type":"cancel","id":"1"})", error_code::kUnknownField, "'id'"},
  };
  for (const auto& c : cases) {
    const auto [code, message] = rejection(c.text);
    EXPECT_EQ(code, c.code) << c.text;
    EXPECT_NE(message.find(c.in_message), std::string::npos) << c.text << " → " << message;
  }
}

TEST(Protocol, GenerateBodyForHttp) {
  const SongParams p = parse_generate_body(R"({"tags":"x","lyrics":"y","seed":3})", limits());
  EXPECT_EQ(*p.seed, 3u);
  EXPECT_THROW(parse_generate_body(R"({"type":"cancel","tags":"x","lyrics":"y"})", limits()), ProtocolError);
}

TEST(Protocol, ServerMessages) {
  // Exactly this text: load generators match on it.
  EXPECT_EQ(queued_message(3), R"({"type":"queued","position":3})");

  const json::object started = json::parse(started_message({"s1", 312, 42})).as_object();
  EXPECT_EQ(started.at("type"), "started");
  EXPECT_EQ(started.at("id"), "s1");
  EXPECT_EQ(started.at("sample_rate"), 48000);
  EXPECT_EQ(started.at("channels"), 2);
  EXPECT_EQ(started.at("codec"), "opus");
  EXPECT_EQ(started.at("frame_ms"), 20);
  EXPECT_EQ(started.at("pre_skip"), 312);
  EXPECT_EQ(started.at("seed"), 42u);

  const json::object progress = json::parse(progress_message(1600, 0.25)).as_object();
  EXPECT_EQ(progress.at("type"), "progress");
  EXPECT_EQ(progress.at("audio_ms"), 1600);
  EXPECT_DOUBLE_EQ(progress.at("rtf").as_double(), 0.25);

  const json::object done = json::parse(done_message({"cancelled", 800, 12.3456, 0.5})).as_object();
  EXPECT_EQ(done.at("type"), "done");
  EXPECT_EQ(done.at("reason"), "cancelled");
  EXPECT_EQ(done.at("audio_ms"), 800);
  EXPECT_DOUBLE_EQ(done.at("ttfa_ms").as_double(), 12.346);
  EXPECT_DOUBLE_EQ(done.at("rtf").as_double(), 0.5);

  const json::object error = json::parse(error_message(error_code::kBusy, "16 songs \"running\"")).as_object();
  EXPECT_EQ(error.at("type"), "error");
  EXPECT_EQ(error.at("code"), "busy");
  EXPECT_EQ(error.at("message"), "16 songs \"running\"");
}

// A message quoting the client's bytes (a request path) that are not UTF-8 is still valid JSON:
// the invalid bytes become U+FFFD (found by fuzz/http_request_fuzzer.cpp).
TEST(Protocol, ErrorMessageWithInvalidUtf8IsValidJson) {
  json::error_code ec;
  const json::value error = json::parse(error_message("not_found", "no such page: /\xff\xfe.html \xc3"), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(error.at("message"), "no such page: /\uFFFD\uFFFD.html \uFFFD");
}

}  // namespace
}  // namespace hs::daemon
