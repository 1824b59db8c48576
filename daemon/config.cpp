#include "daemon/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/core/device_name.h"
#include "engine/core/read_file.h"
#include "engine/pipeline/streaming_decoder.h"
#include "engine/text/prompt.h"

extern char** environ;

namespace hs::daemon {
namespace {

constexpr std::string_view kEnvPrefix = "HEARTSTREAM_";

// Bounds of the numeric settings (named so the messages and the YAML comments agree).
constexpr std::int64_t kMaxThreads = 256;
constexpr std::int64_t kMaxSessionsLimit = 4096;
constexpr std::int64_t kMaxQueueLimit = 1 << 16;
constexpr std::int64_t kMinMessageBytes = 256;
constexpr std::int64_t kMaxMessageBytesLimit = 16 * 1024 * 1024;
constexpr double kMaxTimeoutS = 3600.0;
constexpr std::int64_t kMinSendQueue = 8;
constexpr std::int64_t kMaxSendQueue = 1 << 20;
constexpr std::int64_t kMaxSocketBufferBytes = 64 * 1024 * 1024;
constexpr std::int64_t kMaxConnections = 1 << 20;
constexpr std::int64_t kMinAudioMs = 80;                   // one frame
constexpr std::int64_t kMaxAudioMsLimit = 60 * 60 * 1000;  // one hour
constexpr std::int64_t kMaxTopk = 1 << 20;
constexpr double kMaxTemperature = 100.0;
constexpr double kMaxCfgScale = 100.0;
constexpr double kMaxLookaheadS = 3600.0;
constexpr double kMaxPrerollS = 60.0;
constexpr std::int64_t kMaxCodecBatch = 256;
constexpr std::int64_t kMaxPrefillPerRound = 1 << 20;
constexpr std::size_t kMaxWorkers = 64;  // model.devices entries
// Keys whose YAML value may be a list (read as its items joined with commas, as the environment
// and the command line write it).
constexpr std::array<std::string_view, 1> kListKeys = {"model.devices"};

// A value as text plus where it came from ("heartstream.yaml", "HEARTSTREAM_SERVER_PORT", ...).
struct RawValue {
  std::string text;
  std::string origin;
};
using RawValues = std::map<std::string, RawValue>;

[[noreturn]] void fail(const std::string& path, const RawValue& v, const std::string& expected) {
  throw ConfigError(path + " (from " + v.origin + "): expected " + expected + ", got \"" + v.text + "\"");
}

std::int64_t parse_int(const std::string& path, const RawValue& v, std::int64_t lo, std::int64_t hi) {
  std::int64_t out = 0;
  const char* end = v.text.data() + v.text.size();
  const auto [ptr, ec] = std::from_chars(v.text.data(), end, out);
  if (v.text.empty() || ec != std::errc() || ptr != end || out < lo || out > hi)
    fail(path, v, "an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  return out;
}

std::string format_number(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

// A finite number in [lo, hi] (or (lo, hi] when lo_open).
constexpr double kMaxKvCacheGb = 4096;  // model.kv_cache_gb: more than any GPU holds

double parse_number(const std::string& path, const RawValue& v, double lo, double hi, bool lo_open = false) {
  const std::string range = (lo_open ? "(" : "[") + format_number(lo) + ", " + format_number(hi) + "]";
  char* end = nullptr;
  errno = 0;
  const double out = v.text.empty() ? NAN : std::strtod(v.text.c_str(), &end);
  const bool parsed = !v.text.empty() && errno == 0 && end == v.text.c_str() + v.text.size() && std::isfinite(out) &&
                      !std::isspace(static_cast<unsigned char>(v.text.front()));
  if (!parsed || out < lo || out > hi || (lo_open && out == lo)) fail(path, v, "a number in " + range);
  return out;
}

// `keyword` (nullopt) or parse_number's number; `expected` names both in the error.
std::optional<double> parse_number_or(const std::string& path, const RawValue& v, std::string_view keyword, double lo,
                                      double hi, bool lo_open, const std::string& expected) {
  if (v.text == keyword) return std::nullopt;
  try {
    return parse_number(path, v, lo, hi, lo_open);
  } catch (const ConfigError&) {
    fail(path, v, expected);
  }
}

std::string parse_choice(const std::string& path, const RawValue& v, std::initializer_list<std::string_view> choices) {
  if (std::find(choices.begin(), choices.end(), v.text) != choices.end()) return v.text;
  std::string expected = "one of";
  for (const auto c : choices) expected += (expected.size() > 6 ? ", " : " ") + std::string(c);
  fail(path, v, expected);
}

std::string parse_address(const std::string& path, const RawValue& v) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, v.text.c_str(), buf) == 1 || inet_pton(AF_INET6, v.text.c_str(), buf) == 1) return v.text;
  fail(path, v, "an IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::1)");
}

// "cpu" | "cuda" | "cuda:N" (whether GPU N exists is checked when the models load).
std::string parse_device_name(const std::string& path, const RawValue& v) {
  try {
    parse_device(v.text, path);
  } catch (const InvalidArgument&) {
    fail(path, v, "one of cpu, cuda, cuda:N (N: a CUDA device number)");
  }
  return v.text;
}

// model.devices: "all", or device names separated by commas (a YAML list arrives joined so).
std::vector<std::string> parse_devices(const std::string& path, const RawValue& v) {
  if (v.text == kAllDevices) return {v.text};
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = v.text.find(',', begin);
    std::string item = v.text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    try {
      parse_device(item, path);
    } catch (const InvalidArgument&) {
      fail(path, v, "all, or a list of devices: cpu, cuda, cuda:N (N: a CUDA device number)");
    }
    out.push_back(item);
    if (comma == std::string::npos) break;
    if (out.size() >= kMaxWorkers) fail(path, v, "at most " + std::to_string(kMaxWorkers) + " devices");
    begin = comma + 1;
  }
  return out;
}

std::string parse_nonempty(const std::string& path, const RawValue& v) {
  if (v.text.empty()) fail(path, v, "a non-empty string");
  return v.text;
}

// Every key: its path and how its text becomes the typed value.
using Setter = std::function<void(DaemonConfig&, const std::string& path, const RawValue&)>;
struct Field {
  std::string path;
  Setter set;
};

const std::vector<Field>& fields() {
  static const std::vector<Field> all = {
      {"server.bind", [](DaemonConfig& c, auto& p, auto& v) { c.server.bind = parse_address(p, v); }},
      {"server.port", [](DaemonConfig& c, auto& p, auto& v) { c.server.port = int(parse_int(p, v, 0, 65535)); }},
      {"server.threads", [](DaemonConfig& c, auto& p, auto& v) { c.server.threads = int(parse_int(p, v, 1, kMaxThreads)); }},
      {"server.max_sessions",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.max_sessions = int(parse_int(p, v, 1, kMaxSessionsLimit)); }},
      {"server.queue_limit",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.queue_limit = int(parse_int(p, v, 0, kMaxQueueLimit)); }},
      {"server.realtime_headroom",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.realtime_headroom = parse_number_or(p, v, kOff, 0, 1, true, "a number in (0, 1] or off");
       }},
      {"server.prefill_per_round",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.prefill_per_round = int(parse_int(p, v, 0, kMaxPrefillPerRound));
       }},
      {"server.max_message_bytes",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.max_message_bytes = parse_int(p, v, kMinMessageBytes, kMaxMessageBytesLimit);
       }},
      {"server.auth_token", [](DaemonConfig& c, auto&, auto& v) { c.server.auth_token = v.text; }},
      {"server.slow_reader_timeout_s",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.slow_reader_timeout_s = parse_number(p, v, 0, kMaxTimeoutS, true); }},
      {"server.send_queue_messages",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.send_queue_messages = int(parse_int(p, v, kMinSendQueue, kMaxSendQueue));
       }},
      {"server.socket_send_buffer_bytes",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.socket_send_buffer_bytes = int(parse_int(p, v, 0, kMaxSocketBufferBytes));
       }},
      {"server.web_root", [](DaemonConfig& c, auto&, auto& v) { c.server.web_root = v.text; }},
      {"server.max_connections",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.max_connections = int(parse_int(p, v, 1, kMaxConnections)); }},
      {"server.max_connections_per_address",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.max_connections_per_address = int(parse_int(p, v, 1, kMaxConnections));
       }},
      {"server.http_idle_timeout_s",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.http_idle_timeout_s = parse_number(p, v, 0, kMaxTimeoutS, true); }},
      {"server.websocket_idle_timeout_s",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.server.websocket_idle_timeout_s = parse_number(p, v, 0, kMaxTimeoutS, true);
       }},
      {"server.request_timeout_s",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.request_timeout_s = parse_number(p, v, 0, kMaxTimeoutS, true); }},
      {"server.drain_timeout_s",
       [](DaemonConfig& c, auto& p, auto& v) { c.server.drain_timeout_s = parse_number(p, v, 0, kMaxTimeoutS); }},
      {"model.path", [](DaemonConfig& c, auto&, auto& v) { c.model.path = v.text; }},
      {"model.version", [](DaemonConfig& c, auto& p, auto& v) { c.model.version = parse_nonempty(p, v); }},
      {"model.device", [](DaemonConfig& c, auto& p, auto& v) { c.model.device = parse_device_name(p, v); }},
      {"model.devices", [](DaemonConfig& c, auto& p, auto& v) { c.model.devices = parse_devices(p, v); }},
      {"model.precision",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.model.precision = parse_choice(p, v, {"fp32", "bf16", "fp8", "nf4", "int4"});
       }},
      {"model.codec_device", [](DaemonConfig& c, auto& p, auto& v) { c.model.codec_device = parse_device_name(p, v); }},
      {"model.codec_precision",
       [](DaemonConfig& c, auto& p, auto& v) { c.model.codec_precision = parse_choice(p, v, {"fp32", "bf16", "fp8"}); }},
      {"model.kv_cache_gb",
       [](DaemonConfig& c, auto& p, auto& v) { c.model.kv_cache_gb = parse_number(p, v, 0, kMaxKvCacheGb); }},
      {"model.kv_cache", [](DaemonConfig& c, auto& p, auto& v) { c.model.kv_cache = parse_choice(p, v, {"auto", "fp8"}); }},
      {"model.vram_budget_gb",
       [](DaemonConfig& c, auto& p, auto& v) {
         if (v.text == "free" || v.text == kOff) {
           c.model.vram_budget_gb = v.text;
           return;
         }
         try {
           c.model.vram_budget_gb = std::to_string(parse_number(p, v, 0, kMaxKvCacheGb, true));
         } catch (const ConfigError&) {
           fail(p, v, "a number of GB in (0, " + format_number(kMaxKvCacheGb) + "], free or off");
         }
       }},
      {"generation.max_audio_length_ms",
       [](DaemonConfig& c, auto& p, auto& v) { c.generation.max_audio_length_ms = parse_int(p, v, kMinAudioMs, kMaxAudioMsLimit); }},
      {"generation.max_audio_length_ms_limit",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.generation.max_audio_length_ms_limit = parse_int(p, v, kMinAudioMs, kMaxAudioMsLimit);
       }},
      {"generation.topk", [](DaemonConfig& c, auto& p, auto& v) { c.generation.topk = int(parse_int(p, v, 1, kMaxTopk)); }},
      {"generation.temperature",
       [](DaemonConfig& c, auto& p, auto& v) { c.generation.temperature = parse_number(p, v, 0, kMaxTemperature); }},
      {"generation.cfg_scale",
       [](DaemonConfig& c, auto& p, auto& v) { c.generation.cfg_scale = parse_number(p, v, 0, kMaxCfgScale); }},
      {"generation.max_tags_bytes",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.generation.max_tags_bytes = parse_int(p, v, 1, static_cast<std::int64_t>(kMaxTagsBytes));
       }},
      {"generation.max_lyrics_bytes",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.generation.max_lyrics_bytes = parse_int(p, v, 1, static_cast<std::int64_t>(kMaxLyricsBytes));
       }},
      {"streaming.chunk_frames",
       [](DaemonConfig& c, auto& p, auto& v) { c.streaming.chunk_frames = int(parse_int(p, v, 1, kMaxChunkFrames)); }},
      {"streaming.first_chunk_frames",
       [](DaemonConfig& c, auto& p, auto& v) { c.streaming.first_chunk_frames = int(parse_int(p, v, 1, kMaxChunkFrames)); }},
      {"streaming.codec_batch",
       [](DaemonConfig& c, auto& p, auto& v) { c.streaming.codec_batch = int(parse_int(p, v, 1, kMaxCodecBatch)); }},
      {"streaming.preroll_s",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.streaming.preroll_s = parse_number_or(p, v, "auto", 0, kMaxPrerollS, false,
                                                 "a number of seconds in [0, " + format_number(kMaxPrerollS) + "] or auto");
       }},
      {"streaming.lookahead_s",
       [](DaemonConfig& c, auto& p, auto& v) { c.streaming.lookahead_s = parse_number(p, v, 0, kMaxLookaheadS, true); }},
      {"outputs.portaudio_device", [](DaemonConfig& c, auto&, auto& v) { c.outputs.portaudio_device = v.text; }},
      {"logging.level",
       [](DaemonConfig& c, auto& p, auto& v) {
         c.logging.level = parse_choice(p, v, {"trace", "debug", "info", "warn", "error", "critical", "off"});
       }},
  };
  return all;
}

const Field* find_field(const std::string& path) {
  for (const auto& f : fields())
    if (f.path == path) return &f;
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> out;
  for (const auto& f : fields()) {
    const std::string section = f.path.substr(0, f.path.find('.'));
    if (std::find(out.begin(), out.end(), section) == out.end()) out.push_back(section);
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    default: return "a value";
  }
}

std::string location(const std::string& source, const YAML::Mark& mark) {
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// "file:line" of a node.
std::string line_of(const std::string& source, const YAML::Node& node) {
  return source + ":" + std::to_string(node.Mark().line + 1);
}

// A mapping's key as a name; `names` holds the line of each name seen so far in that mapping, so
// a second one is an error naming both lines (yaml-cpp would let the last one win).
std::string key_name(const YAML::Node& key, const std::string& source, const std::string& prefix, std::string_view what,
                     std::map<std::string, int>& names) {
  if (!key.IsScalar())
    throw ConfigError(line_of(source, key) + ": expected a " + std::string(what) + " name, got " + node_kind(key));
  const std::string name = key.Scalar();
  // No key has one, and quoted in a message it would cut the text (NUL) or reach the terminal.
  const auto control = std::find_if(name.begin(), name.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
  if (control != name.end())
    throw ConfigError(line_of(source, key) + ": a " + std::string(what) + " name holds control character " +
                      std::to_string(static_cast<unsigned char>(*control)));
  const int line = key.Mark().line + 1;
  const auto [first, fresh] = names.emplace(name, line);
  if (!fresh)
    throw ConfigError(prefix + name + ": duplicate " + std::string(what) + " in " + line_of(source, key) +
                      " (first at line " + std::to_string(first->second) + ")");
  return name;
}

// A key's value as text: a scalar's, or for a list key the items joined with commas.
std::string scalar_or_list(const std::string& path, const YAML::Node& value, const std::string& source) {
  const bool list_key = std::find(kListKeys.begin(), kListKeys.end(), path) != kListKeys.end();
  const auto not_single = [&] {
    return ConfigError(path + ": expected a single value" + (list_key ? " or a list of them" : "") + ", got " +
                       node_kind(value) + " (" + location(source, value.Mark()) + ")");
  };
  if (value.IsNull()) return {};
  if (value.IsScalar()) return value.Scalar();
  if (!list_key || !value.IsSequence()) throw not_single();
  std::string joined;
  for (const auto& item : value) {
    if (!item.IsScalar()) throw not_single();
    joined += (joined.empty() ? "" : ",") + item.Scalar();
  }
  return joined;
}

// The file's key/value pairs, every key checked against the table at its depth; every error names
// the file and the line.
void collect_yaml(const std::string& text, const std::string& source, RawValues& out) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(location(source, e.mark) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) return;
  if (!root.IsMap())
    throw ConfigError(line_of(source, root) + ": expected a mapping of sections at the top, got " + node_kind(root));
  const auto sections = section_names();
  std::map<std::string, int> section_lines;
  for (const auto& section : root) {
    const std::string name = key_name(section.first, source, "", "section", section_lines);
    if (std::find(sections.begin(), sections.end(), name) == sections.end())
      throw ConfigError(name + ": unknown section in " + line_of(source, section.first) + " (expected one of " +
                        join(sections) + ")");
    if (section.second.IsNull()) continue;
    if (!section.second.IsMap())
      throw ConfigError(name + ": expected a mapping of keys, got " + node_kind(section.second) + " (" +
                        line_of(source, section.second) + ")");
    std::map<std::string, int> key_lines;
    for (const auto& key : section.second) {
      const std::string path = name + "." + key_name(key.first, source, name + ".", "key", key_lines);
      if (!find_field(path)) throw ConfigError(path + ": unknown key in " + line_of(source, key.first));
      out[path] = RawValue{scalar_or_list(path, key.second, source), line_of(source, key.first)};
    }
  }
}

// HEARTSTREAM_<SECTION>_<KEY> for every key; other HEARTSTREAM_<SECTION>_* names are typos.
void collect_environment(const Environment& env, RawValues& out) {
  for (const auto& f : fields()) {
    const auto it = env.find(environment_name(f.path));
    if (it != env.end()) out[f.path] = RawValue{it->second, it->first};
  }
  for (const auto& [name, value] : env) {
    for (const auto& section : section_names()) {
      const std::string prefix = environment_name(section) + "_";
      if (name.rfind(prefix, 0) != 0) continue;
      const bool known = std::any_of(fields().begin(), fields().end(),
                                     [&](const Field& f) { return environment_name(f.path) == name; });
      if (!known) throw ConfigError(name + ": unknown setting (the environment names keys as HEARTSTREAM_<SECTION>_<KEY>)");
    }
  }
}

void validate(const DaemonConfig& c) {
  const auto& g = c.generation;
  const std::int64_t needed = kJsonEscapeFactor * (g.max_tags_bytes + g.max_lyrics_bytes) + kMessageOverheadBytes;
  if (c.server.max_message_bytes < needed)
    throw ConfigError("server.max_message_bytes: " + std::to_string(c.server.max_message_bytes) +
                      " cannot hold a request with generation.max_tags_bytes (" + std::to_string(g.max_tags_bytes) +
                      ") and generation.max_lyrics_bytes (" + std::to_string(g.max_lyrics_bytes) +
                      ") of text; it must be at least " + std::to_string(needed) + " (" +
                      std::to_string(kJsonEscapeFactor) + " x the texts, as they may grow escaped in JSON, + " +
                      std::to_string(kMessageOverheadBytes) + ")");
  if (!c.model.devices.empty() && c.model.codec_device && *c.model.codec_device != "cpu")
    throw ConfigError("model.codec_device: " + *c.model.codec_device +
                      " with model.devices: each engine worker's codec runs on its own device, or on the CPU "
                      "(codec_device: cpu)");
  if (c.streaming.first_chunk_frames && *c.streaming.first_chunk_frames > c.streaming.chunk_frames)
    throw ConfigError("streaming.first_chunk_frames: " + std::to_string(*c.streaming.first_chunk_frames) +
                      " exceeds streaming.chunk_frames (" + std::to_string(c.streaming.chunk_frames) +
                      "): a song's first chunk is at most as long as the others");
  if (c.generation.max_audio_length_ms > c.generation.max_audio_length_ms_limit)
    throw ConfigError("generation.max_audio_length_ms: the default (" + std::to_string(c.generation.max_audio_length_ms) +
                      ") exceeds generation.max_audio_length_ms_limit (" +
                      std::to_string(c.generation.max_audio_length_ms_limit) + ")");
}

}  // namespace

std::string environment_name(const std::string& key_path) {
  std::string out(kEnvPrefix);
  for (const char ch : key_path) out += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind(kEnvPrefix, 0) != 0) continue;
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

DaemonConfig parse_config(const std::string& yaml_text, const std::string& source, const Environment& env,
                          const ConfigOverrides& overrides) {
  RawValues raw;
  collect_yaml(yaml_text, source, raw);
  collect_environment(env, raw);
  for (const auto& [path, text] : overrides) {
    if (!find_field(path)) throw ConfigError(path + ": unknown key (command-line override)");
    raw[path] = RawValue{text, "command line"};
  }
  DaemonConfig config;
  for (const auto& [path, value] : raw) find_field(path)->set(config, path, value);
  validate(config);
  return config;
}

DaemonConfig load_config(const std::optional<std::filesystem::path>& file, const Environment& env,
                         const ConfigOverrides& overrides) {
  if (!file) return parse_config("", "defaults", env, overrides);
  std::string text;
  try {
    text = read_regular_file(*file, kMaxConfigFileBytes);
  } catch (const FileReadError& e) {
    throw ConfigError(file->string() + ": " + e.what() + " (the configuration file)");
  }
  return parse_config(text, file->string(), env, overrides);
}

}  // namespace hs::daemon
