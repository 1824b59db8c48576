// Protocol v1 (DESIGN.md "Protocol", docs/protocol.md): the JSON messages of WebSocket /v1/stream
// and the body of POST /v1/generate. Parsing is strict: malformed JSON, an unknown type or field, a
// wrong field type or an out-of-range value is a ProtocolError whose code says which and whose
// message names the field. Builders return the server's messages as JSON text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/config.h"
#include "engine/core/error.h"

namespace hs::daemon {

// The Server header of every HTTP and WebSocket-upgrade response.
inline constexpr std::string_view kServerName = "heartstreamd";

// Error codes of the `error` message (docs/protocol.md lists when each is sent).
namespace error_code {
inline constexpr std::string_view kBadJson = "bad_json";            // not JSON, or not an object
inline constexpr std::string_view kMissingField = "missing_field";  // a required field is absent
inline constexpr std::string_view kUnknownType = "unknown_type";    // `type` is not generate|cancel
inline constexpr std::string_view kUnknownField = "unknown_field";  // a field this message does not have
inline constexpr std::string_view kBadType = "bad_type";            // a field has the wrong JSON type
inline constexpr std::string_view kOutOfRange = "out_of_range";     // a value outside its limits
inline constexpr std::string_view kBusy = "busy";                   // max_sessions running and queue_limit waiting
inline constexpr std::string_view kAlreadyGenerating = "already_generating";  // one song per connection at a time
inline constexpr std::string_view kNotGenerating = "not_generating";          // cancel with no song running
inline constexpr std::string_view kBinaryNotAllowed = "binary_not_allowed";  // clients send text only
inline constexpr std::string_view kSlowReader = "slow_reader";      // the send queue stayed full too long
inline constexpr std::string_view kShutdown = "shutdown";           // the daemon is stopping
inline constexpr std::string_view kRejected = "rejected";  // the engine cannot take it (e.g. too long for the model)
inline constexpr std::string_view kGenerationFailed = "generation_failed";  // the engine threw for this song
// HTTP only: the JSON body of an error status (RFC 9110 15.5, 15.6).
inline constexpr std::string_view kBadRequest = "bad_request";                // 400: malformed HTTP
inline constexpr std::string_view kUnauthorized = "unauthorized";             // 401
inline constexpr std::string_view kNotFound = "not_found";                    // 404
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";   // 405 (Allow names the methods)
inline constexpr std::string_view kMessageTooLarge = "message_too_large";     // 413: body over server.max_message_bytes
inline constexpr std::string_view kTargetTooLong = "target_too_long";         // 414
inline constexpr std::string_view kUpgradeRequired = "upgrade_required";      // 426: /v1/stream is a WebSocket
inline constexpr std::string_view kHeadersTooLarge = "headers_too_large";     // 431
inline constexpr std::string_view kNotImplemented = "not_implemented";        // 501: a method the daemon does not know
inline constexpr std::string_view kVersionNotSupported = "http_version_not_supported";  // 505
}  // namespace error_code

class ProtocolError : public InvalidArgument {
 public:
  ProtocolError(std::string_view code, const std::string& message) : InvalidArgument(message), code_(code) {}
  std::string_view code() const { return code_; }

 private:
  std::string_view code_;
};

// Stream format constants announced in `started`.
inline constexpr int kStreamSampleRateHz = 48000;
inline constexpr int kStreamChannels = 2;
inline constexpr std::string_view kStreamCodec = "opus";
inline constexpr int kStreamFrameMs = 20;

// One song's parameters, defaults and limits from GenerationConfig.
struct SongParams {
  std::string tags;
  std::string lyrics;
  std::int64_t max_audio_length_ms = 0;
  double temperature = 0;
  int topk = 0;
  double cfg_scale = 0;
  std::optional<std::uint64_t> seed;  // random when absent
};

struct GenerateMessage {
  SongParams params;
};
struct CancelMessage {};
using ClientMessage = std::variant<GenerateMessage, CancelMessage>;

// A client text message: {"type": "generate", ...} or {"type": "cancel"}.
ClientMessage parse_client_message(std::string_view text, const GenerationConfig& limits);
// The body of POST /v1/generate: the generate fields, `type` optional (must be "generate" if present).
SongParams parse_generate_body(std::string_view text, const GenerationConfig& limits);

struct StartedInfo {
  std::string id;
  int pre_skip = 0;   // samples per channel the decoder drops (Opus look-ahead)
  std::uint64_t seed = 0;
};
struct DoneInfo {
  std::string_view reason;  // eos | length | cancelled
  std::int64_t audio_ms = 0;
  double ttfa_ms = 0;       // request accepted → first audio packet handed to the network
  double rtf = 0;           // generation time / audio time
};

// The `busy` error's text: both limits, named by their keys.
std::string busy_message(const ServerConfig& server);
// {"type":"queued","position":N}: the song waits for a slot, N-th in line (1: next).
std::string queued_message(int position);
std::string started_message(const StartedInfo& info);
std::string progress_message(std::int64_t audio_ms, double rtf);
std::string done_message(const DoneInfo& info);
// Bytes of `message` that are not UTF-8 come out as U+FFFD.
std::string error_message(std::string_view code, std::string_view message);

}  // namespace hs::daemon
