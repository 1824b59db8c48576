#include "daemon/protocol.h"

#include <cmath>
#include <limits>

#include <boost/json.hpp>

#include "engine/text/utf8.h"

namespace hs::daemon {
namespace {

namespace json = boost::json;

// Bounds not taken from the configuration.
constexpr std::int64_t kMinAudioMs = 80;  // one frame
// The sampler's and the guidance's sane ranges (the same as the configuration accepts).
constexpr double kMaxTemperature = 100.0;
constexpr double kMaxCfgScale = 100.0;
constexpr std::int64_t kMaxTopk = 1 << 20;

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

json::object parse_object(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw ProtocolError(error_code::kBadJson, "malformed JSON: " + ec.message());
  if (!v.is_object()) throw ProtocolError(error_code::kBadJson, "a message must be a JSON object");
  return std::move(v.as_object());
}

std::string get_string(const json::object& o, std::string_view field, std::int64_t max_bytes) {
  const json::value* v = o.if_contains(field);
  if (!v) throw ProtocolError(error_code::kMissingField, in_quotes(field) + " is required");
  if (!v->is_string()) throw ProtocolError(error_code::kBadType, in_quotes(field) + " must be a string");
  const auto& s = v->get_string();
  if (static_cast<std::int64_t>(s.size()) > max_bytes)
    throw ProtocolError(error_code::kOutOfRange, in_quotes(field) + " is " + std::to_string(s.size()) +
                                                     " bytes; the limit is " + std::to_string(max_bytes));
  return std::string(s);
}

std::optional<std::int64_t> get_int(const json::object& o, std::string_view field, std::int64_t lo, std::int64_t hi) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  const bool integral = v->is_int64() || v->is_uint64();
  if (!integral) throw ProtocolError(error_code::kBadType, in_quotes(field) + " must be an integer");
  const bool in_range = v->is_int64() ? (v->get_int64() >= lo && v->get_int64() <= hi)
                                      : v->get_uint64() <= static_cast<std::uint64_t>(hi);
  if (!in_range)
    throw ProtocolError(error_code::kOutOfRange,
                        in_quotes(field) + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  return v->is_int64() ? v->get_int64() : static_cast<std::int64_t>(v->get_uint64());
}

std::optional<double> get_number(const json::object& o, std::string_view field, double lo, double hi) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_number()) throw ProtocolError(error_code::kBadType, in_quotes(field) + " must be a number");
  const double x = v->to_number<double>();
  if (!(x >= lo && x <= hi))
    throw ProtocolError(error_code::kOutOfRange,
                        in_quotes(field) + " must be in [" + json::serialize(json::value(lo)) + ", " +
                            json::serialize(json::value(hi)) + "]");
  return x;
}

std::optional<std::uint64_t> get_seed(const json::object& o) {
  const json::value* v = o.if_contains("seed");
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (!v->is_int64()) throw ProtocolError(error_code::kBadType, "'seed' must be an integer");
  if (v->get_int64() < 0) throw ProtocolError(error_code::kOutOfRange, "'seed' must be in 0..2^64-1");
  return static_cast<std::uint64_t>(v->get_int64());
}

void reject_unknown_fields(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool found = false;
    for (const auto k : known) found = found || kv.key() == k;
    if (!found) throw ProtocolError(error_code::kUnknownField, "unknown field " + in_quotes(kv.key()));
  }
}

SongParams song_params(const json::object& o, const GenerationConfig& limits) {
  reject_unknown_fields(o, {"type", "tags", "lyrics", "max_audio_length_ms", "temperature", "topk", "cfg_scale", "seed"});
  SongParams p;
  p.tags = get_string(o, "tags", limits.max_tags_bytes);
  p.lyrics = get_string(o, "lyrics", limits.max_lyrics_bytes);
  p.max_audio_length_ms =
      get_int(o, "max_audio_length_ms", kMinAudioMs, limits.max_audio_length_ms_limit).value_or(limits.max_audio_length_ms);
  p.temperature = get_number(o, "temperature", 0.0, kMaxTemperature).value_or(limits.temperature);
  p.topk = static_cast<int>(get_int(o, "topk", 1, kMaxTopk).value_or(limits.topk));
  p.cfg_scale = get_number(o, "cfg_scale", 0.0, kMaxCfgScale).value_or(limits.cfg_scale);
  p.seed = get_seed(o);
  return p;
}

std::string message_type(const json::object& o) {
  const json::value* t = o.if_contains("type");
  if (!t) throw ProtocolError(error_code::kMissingField, "'type' is required (generate or cancel)");
  if (!t->is_string()) throw ProtocolError(error_code::kBadType, "'type' must be a string");
  return std::string(t->get_string());
}

// Rounded for the wire: three decimals are plenty for ms and factors.
double round3(double x) { return std::isfinite(x) ? std::round(x * 1000.0) / 1000.0 : 0.0; }

}  // namespace

ClientMessage parse_client_message(std::string_view text, const GenerationConfig& limits) {
  const json::object o = parse_object(text);
  const std::string type = message_type(o);
  if (type == "generate") return GenerateMessage{song_params(o, limits)};
  if (type == "cancel") {
    reject_unknown_fields(o, {"type"});
    return CancelMessage{};
  }
  throw ProtocolError(error_code::kUnknownType, "unknown message type " + in_quotes(type) + " (expected generate or cancel)");
}

SongParams parse_generate_body(std::string_view text, const GenerationConfig& limits) {
  const json::object o = parse_object(text);
  if (o.contains("type") && message_type(o) != "generate")
    throw ProtocolError(error_code::kUnknownType, "POST /v1/generate takes a generate message");
  return song_params(o, limits);
}

std::string busy_message(const ServerConfig& server) {
  return std::to_string(server.max_sessions) + " songs are running and " + std::to_string(server.queue_limit) +
         " waiting (server.max_sessions, server.queue_limit); try again later";
}

std::string queued_message(int position) {
  return json::serialize(json::object{{"type", "queued"}, {"position", position}});
}

std::string started_message(const StartedInfo& info) {
  return json::serialize(json::object{{"type", "started"},
                                      {"id", info.id},
                                      {"sample_rate", kStreamSampleRateHz},
                                      {"channels", kStreamChannels},
                                      {"codec", kStreamCodec},
                                      {"frame_ms", kStreamFrameMs},
                                      {"pre_skip", info.pre_skip},
                                      {"seed", info.seed}});
}

std::string progress_message(std::int64_t audio_ms, double rtf) {
  return json::serialize(json::object{{"type", "progress"}, {"audio_ms", audio_ms}, {"rtf", round3(rtf)}});
}

std::string done_message(const DoneInfo& info) {
  return json::serialize(json::object{{"type", "done"},
                                      {"reason", info.reason},
                                      {"audio_ms", info.audio_ms},
                                      {"ttfa_ms", round3(info.ttfa_ms)},
                                      {"rtf", round3(info.rtf)}});
}

std::string error_message(std::string_view code, std::string_view message) {
  // Messages may quote the client's bytes (a request path); JSON text must be UTF-8.
  return json::serialize(json::object{{"type", "error"}, {"code", code}, {"message", utf8::sanitize(message)}});
}

}  // namespace hs::daemon
