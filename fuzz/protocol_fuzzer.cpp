// The protocol's JSON messages (daemon/protocol.h): the input is one client message, parsed both
// as a WebSocket message and as a POST /v1/generate body. Each is either accepted with every value
// inside the limits or a ProtocolError with a code; the `error` message the daemon would send back
// is valid JSON carrying that text. Any other exception, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "daemon/protocol.h"
#include "fuzz/check.h"

namespace {

namespace json = boost::json;
using hs::daemon::GenerationConfig;
using hs::daemon::SongParams;

void check_params(const SongParams& p, const GenerationConfig& limits) {
  FUZZ_CHECK(static_cast<std::int64_t>(p.tags.size()) <= limits.max_tags_bytes, "tags over their limit");
  FUZZ_CHECK(static_cast<std::int64_t>(p.lyrics.size()) <= limits.max_lyrics_bytes, "lyrics over their limit");
  FUZZ_CHECK(p.max_audio_length_ms > 0 && p.max_audio_length_ms <= limits.max_audio_length_ms_limit,
             "max_audio_length_ms out of range");
  FUZZ_CHECK(p.topk >= 1 && p.temperature >= 0 && p.cfg_scale >= 0, "a sampler value out of range");
}

// The reply to a rejected message must parse and carry the code and the message unchanged.
void check_error_reply(const hs::daemon::ProtocolError& e) {
  FUZZ_CHECK(!e.code().empty(), "a ProtocolError without a code");
  json::error_code ec;
  const json::value reply = json::parse(hs::daemon::error_message(e.code(), e.what()), ec);
  FUZZ_CHECK(!ec && reply.is_object(), "the error reply is not valid JSON");
  FUZZ_CHECK(reply.at("code").as_string() == e.code(), "the error reply lost its code");
  FUZZ_CHECK(reply.at("message").as_string() == std::string_view(e.what()), "the error reply lost its message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Small limits, so that inputs of a few hundred bytes reach them.
  GenerationConfig limits;
  limits.max_tags_bytes = 16;
  limits.max_lyrics_bytes = 64;
  try {
    const auto message = hs::daemon::parse_client_message(text, limits);
    if (const auto* generate = std::get_if<hs::daemon::GenerateMessage>(&message)) check_params(generate->params, limits);
  } catch (const hs::daemon::ProtocolError& e) {
    check_error_reply(e);
  }
  try {
    check_params(hs::daemon::parse_generate_body(text, limits), limits);
  } catch (const hs::daemon::ProtocolError& e) {
    check_error_reply(e);
  }
  return 0;
}
