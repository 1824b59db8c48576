// heartstreamd's configuration (STYLE.md 6): one YAML file (etc/heartstream.yaml documents every
// key), parsed and validated once. Layers, lowest first: the defaults below, the file, environment
// variables HEARTSTREAM_<SECTION>_<KEY> (e.g. HEARTSTREAM_SERVER_PORT; read only in config.cpp),
// then command-line overrides. Every value goes through the same validation, and every error names
// its key path: `server.port: expected an integer in 1..65535, got "abc"`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace hs::daemon {

// model.devices' value for one engine worker per CUDA device.
inline constexpr std::string_view kAllDevices = "all";
// model.vram_budget_gb's "no plan" and server.realtime_headroom's "no real-time admission".
inline constexpr std::string_view kOff = "off";

// A bad file, key or value; the message starts with the key path (or the file name).
class ConfigError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

// The largest configuration file read (a config is a few KB; a device such as /dev/zero never ends).
inline constexpr std::uintmax_t kMaxConfigFileBytes = 1024 * 1024;
// server.max_message_bytes must hold tags and lyrics at their limits as JSON strings: escaped, a
// text grows at most this many times (a 2-byte UTF-8 character as \uXXXX), plus the other fields.
inline constexpr std::int64_t kJsonEscapeFactor = 3;
inline constexpr std::int64_t kMessageOverheadBytes = 4096;

struct ServerConfig {
  std::string bind = "127.0.0.1";              // loopback only; 0.0.0.0 exposes the daemon
  int port = 8080;                             // 0 picks a free port (tests)
  int threads = 2;                             // Asio threads serving HTTP/WebSocket I/O
  int max_sessions = 16;                       // songs generating at once; more wait in the queue
  int queue_limit = 32;                        // songs waiting to start; past both limits a song gets `busy`
  // A song starts only while a round is predicted under 80 ms x this; nullopt ("off"): whenever a
  // slot and the KV cache have room (batch renders, or a CPU too slow for real time)
  std::optional<double> realtime_headroom = 0.8;
  int prefill_per_round = 256;                 // prompt positions new songs run per round (0: whole prompts)
  std::int64_t max_message_bytes = 256 * 1024;  // largest client WebSocket message / HTTP body (holds the text limits)
  std::string auth_token;                      // empty: no auth; else `Authorization: Bearer <token>`
  double slow_reader_timeout_s = 10.0;         // a full send queue for this long closes the connection
  int send_queue_messages = 512;               // outbound messages buffered per connection (~10 s of Opus)
  int socket_send_buffer_bytes = 0;            // SO_SNDBUF of streaming connections; 0: the OS's (auto-tuned)
  std::string web_root;                        // folder with index.html; empty: the build's clients/web
  int max_connections = 512;                   // open client connections; more are refused (503)
  int max_connections_per_address = 64;        // open connections from one client address
  double http_idle_timeout_s = 15.0;           // a keep-alive HTTP connection waiting for its next request
  double websocket_idle_timeout_s = 60.0;      // a WebSocket with no song running and no message from the client
  double request_timeout_s = 10.0;             // an HTTP request or WebSocket message, from its first byte to its last
  double drain_timeout_s = 30.0;               // on SIGTERM/SIGINT: how long running songs may finish; 0: none
};

struct ModelConfig {
  std::string path;             // checkpoint folder (HeartMuLa-oss-<version>/, HeartCodec-oss/, ...); required to serve
  std::string version = "3B";   // HeartMuLa-oss-<version>
  // cpu | cuda | cuda:N: where the LM runs, and the codec unless codec_device says ("cuda": cuda:0)
  std::string device = "cpu";
  // One engine worker per entry, each with its own copy of the models on its device (cpu, cuda,
  // cuda:N; a device may repeat), or {"all"}: one per CUDA device. Empty: one worker on `device`.
  // A worker's codec runs on its own device, or on the CPU when codec_device is cpu.
  std::vector<std::string> devices;
  std::string precision = "fp32";  // fp32 | bf16 | fp8 | nf4 | int4: the LM's weights (all but fp32 need cuda)
  std::optional<std::string> codec_device;  // cpu | cuda | cuda:N; unset: follows device
  // fp32 | bf16 | fp8: HeartCodec's linears; unset: precision when the codec shares the LM's device,
  // else that device's default (BackendChoice::codec_precision_or_default)
  std::optional<std::string> codec_precision;
  // GB of the KV cache pool the running songs share (many songs per step, engine/model/lm/mula_batch.h);
  // 0: room for server.max_sessions songs of generation.max_audio_length_ms.
  double kv_cache_gb = 0;
  // auto | fp8: how that pool stores keys and values (engine/model/lm/transformer.h KvCache): auto
  // in the LM's narrow dtype (bf16 on cuda), fp8 E4M3 with a scale per vector: ~half the bytes.
  std::string kv_cache = "auto";
  // GB of device memory for both models (a number, the guide's 6 / 8 / 12, or "free": the GPU's free
  // memory at start), "off" for no plan, or empty (the default): on cuda the GPU's free memory, with
  // the KV pool sized as without a plan. With a budget the daemon plans (engine/pipeline/vram_plan.h)
  // what the keys above leave open — precision fp32 and kv_cache auto count as open — lowers
  // server.max_sessions to the songs that fit, sizes the KV pool from what remains when the budget
  // is named, logs the plan and holds every device allocation within the budget (with_vram_plan).
  std::string vram_budget_gb{};
  std::size_t vram_budget_bytes = 0;  // set by with_vram_plan (engine_models.h): the budget the backends hold to
};

struct GenerationConfig {
  std::int64_t max_audio_length_ms = 240000;        // default per request (the reference CLI's)
  std::int64_t max_audio_length_ms_limit = 600000;  // the most a request may ask for (10 min)
  int topk = 50;                                    // reference default
  double temperature = 1.0;                         // reference default
  double cfg_scale = 1.5;                           // reference default; 1 turns CFG off
  std::int64_t max_tags_bytes = 4 * 1024;           // UTF-8 bytes; at most the prompt builder's cap
  std::int64_t max_lyrics_bytes = 64 * 1024;        // UTF-8 bytes; at most the prompt builder's cap
};

struct StreamingConfig {
  int chunk_frames = 16;      // code frames per codec chunk (80 ms each): latency vs. context (1.28 s)
  // Code frames of a song's first chunk, at most chunk_frames; nullopt: 4 (kFirstChunkFrames), or
  // chunk_frames if fewer. Short for early first audio; chunk_frames for the least codec work when
  // many songs start together (docs/scaling.md).
  std::optional<int> first_chunk_frames;
  double lookahead_s = 10.0;  // audio a session may run ahead of real-time playback before pausing
  int codec_batch = 16;       // songs whose codec chunks one call decodes together
  // Audio a song holds back before its first is sent; nullopt ("auto"): by what it starts beside
  // (daemon/pacing.h start_preroll_s).
  std::optional<double> preroll_s;
};

struct OutputsConfig {
  std::string portaudio_device;  // name or index for --play; empty: the system default device
};

struct LoggingConfig {
  std::string level = "info";  // trace | debug | info | warn | error | critical | off
};

struct DaemonConfig {
  ServerConfig server;
  ModelConfig model;
  GenerationConfig generation;
  StreamingConfig streaming;
  OutputsConfig outputs;
  LoggingConfig logging;
};

// Overrides by key path ("server.port" → "9000"), applied after the file and the environment;
// the command line's --model_path, --version, --device, --precision, --codec_device, --codec_precision,
// --bind, --port land here.
using ConfigOverrides = std::map<std::string, std::string>;

// Environment variables as name → value (tests pass their own; main passes the process's).
using Environment = std::map<std::string, std::string>;
Environment process_environment();

// Defaults, then the YAML text (may be empty), then `env`, then `overrides`, then validation.
// `source` names the text in messages (a file name). Throws ConfigError.
DaemonConfig parse_config(const std::string& yaml_text, const std::string& source, const Environment& env = {},
                          const ConfigOverrides& overrides = {});
// The same for a file (nullopt: no file, defaults only). Throws ConfigError when unreadable.
DaemonConfig load_config(const std::optional<std::filesystem::path>& file, const Environment& env,
                         const ConfigOverrides& overrides);

// The environment variable for a key path: "server.port" → "HEARTSTREAM_SERVER_PORT".
std::string environment_name(const std::string& key_path);

}  // namespace hs::daemon
