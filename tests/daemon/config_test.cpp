// daemon/config: the documented file parses to its defaults, every kind of bad value and unknown
// key is rejected naming its key path, file and line, duplicate keys are rejected, only bounded
// regular files are read, the message limit fits the text limits, and the environment and command
// line override the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/config.h"

namespace hs::daemon {
namespace {

// The error message of parse_config on `yaml`, or "" when it parses.
std::string error_of(const std::string& yaml, const Environment& env = {}, const ConfigOverrides& overrides = {}) {
  try {
    parse_config(yaml, "test.yaml", env, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DaemonConfig, ShippedFileMatchesTheDefaults) {
  const auto file = std::filesystem::path(HEARTSTREAM_SOURCE_DIR) / "etc/heartstream.yaml";
  const DaemonConfig c = load_config(file, {}, {});
  const DaemonConfig d;
  EXPECT_EQ(c.server.bind, d.server.bind);
  EXPECT_EQ(c.server.port, d.server.port);
  EXPECT_EQ(c.server.threads, d.server.threads);
  EXPECT_EQ(c.server.max_sessions, d.server.max_sessions);
  EXPECT_EQ(c.server.queue_limit, d.server.queue_limit);
  EXPECT_EQ(c.server.realtime_headroom, d.server.realtime_headroom);
  EXPECT_EQ(c.server.prefill_per_round, d.server.prefill_per_round);
  EXPECT_EQ(c.server.max_message_bytes, d.server.max_message_bytes);
  EXPECT_EQ(c.server.auth_token, d.server.auth_token);
  EXPECT_EQ(c.server.slow_reader_timeout_s, d.server.slow_reader_timeout_s);
  EXPECT_EQ(c.server.send_queue_messages, d.server.send_queue_messages);
  EXPECT_EQ(c.server.socket_send_buffer_bytes, d.server.socket_send_buffer_bytes);
  EXPECT_EQ(c.model.version, d.model.version);
  EXPECT_EQ(c.model.device, d.model.device);
  EXPECT_EQ(c.model.precision, d.model.precision);
  EXPECT_EQ(c.model.codec_device, d.model.codec_device);
  EXPECT_EQ(c.model.codec_precision, d.model.codec_precision);
  EXPECT_EQ(c.model.kv_cache_gb, d.model.kv_cache_gb);
  EXPECT_EQ(c.model.kv_cache, d.model.kv_cache);
  EXPECT_EQ(c.model.vram_budget_gb, d.model.vram_budget_gb);
  EXPECT_EQ(c.generation.max_audio_length_ms, d.generation.max_audio_length_ms);
  EXPECT_EQ(c.generation.max_audio_length_ms_limit, d.generation.max_audio_length_ms_limit);
  EXPECT_EQ(c.generation.topk, d.generation.topk);
  EXPECT_EQ(c.generation.temperature, d.generation.temperature);
  EXPECT_EQ(c.generation.cfg_scale, d.generation.cfg_scale);
  EXPECT_EQ(c.generation.max_tags_bytes, d.generation.max_tags_bytes);
  EXPECT_EQ(c.generation.max_lyrics_bytes, d.generation.max_lyrics_bytes);
  EXPECT_EQ(c.streaming.chunk_frames, d.streaming.chunk_frames);
  EXPECT_EQ(c.streaming.first_chunk_frames, d.streaming.first_chunk_frames);
  EXPECT_EQ(c.streaming.lookahead_s, d.streaming.lookahead_s);
  EXPECT_EQ(c.streaming.preroll_s, d.streaming.preroll_s);
  EXPECT_EQ(c.logging.level, d.logging.level);
}

TEST(DaemonConfig, ValidFileSetsEveryKind) {
  const DaemonConfig c = parse_config(R"(
server: {bind: "::1", port: 9001, threads: 3, auth_token: s3cret, slow_reader_timeout_s: 2.5, queue_limit: 0,
         realtime_headroom: 1, prefill_per_round: 0}
model: {path: /models/ckpt, version: 7B, device: cuda, precision: fp8, kv_cache_gb: 2.5, kv_cache: fp8, vram_budget_gb: 6}
generation: {max_audio_length_ms: 30000, topk: 1, temperature: 0, cfg_scale: 1}
streaming: {chunk_frames: 4, first_chunk_frames: 2, lookahead_s: 0.5, codec_batch: 3, preroll_s: 1.5}
outputs: {portaudio_device: "3"}
logging: {level: debug}
)",
                                      "test.yaml");
  EXPECT_EQ(c.server.bind, "::1");
  EXPECT_EQ(c.server.port, 9001);
  EXPECT_EQ(c.server.threads, 3);
  EXPECT_EQ(c.server.auth_token, "s3cret");
  EXPECT_DOUBLE_EQ(c.server.slow_reader_timeout_s, 2.5);
  EXPECT_EQ(c.server.queue_limit, 0);
  EXPECT_EQ(c.server.realtime_headroom, 1.0);
  EXPECT_EQ(parse_config("server: {realtime_headroom: off}", "test.yaml").server.realtime_headroom, std::nullopt);
  EXPECT_EQ(c.server.prefill_per_round, 0);
  EXPECT_EQ(c.model.path, "/models/ckpt");
  EXPECT_EQ(c.model.version, "7B");
  EXPECT_EQ(c.model.device, "cuda");
  EXPECT_EQ(c.model.precision, "fp8");
  EXPECT_DOUBLE_EQ(c.model.kv_cache_gb, 2.5);
  EXPECT_EQ(c.model.kv_cache, "fp8");
  EXPECT_DOUBLE_EQ(std::stod(c.model.vram_budget_gb), 6.0);
  EXPECT_EQ(parse_config("model: {vram_budget_gb: free}", "test.yaml").model.vram_budget_gb, "free");
  EXPECT_EQ(parse_config("model: {vram_budget_gb: 'off'}", "test.yaml").model.vram_budget_gb, "off");
  EXPECT_EQ(parse_config("", "test.yaml").model.vram_budget_gb, "") << "unset: the GPU's free memory on cuda";
  EXPECT_EQ(c.generation.max_audio_length_ms, 30000);
  EXPECT_EQ(c.generation.topk, 1);
  EXPECT_EQ(c.generation.temperature, 0.0);
  EXPECT_EQ(c.streaming.chunk_frames, 4);
  EXPECT_EQ(c.streaming.first_chunk_frames, 2);
  EXPECT_EQ(parse_config("", "test.yaml").streaming.first_chunk_frames, std::nullopt) << "unset: 4, at most chunk_frames";
  EXPECT_DOUBLE_EQ(c.streaming.lookahead_s, 0.5);
  EXPECT_EQ(c.streaming.codec_batch, 3);
  EXPECT_EQ(c.streaming.preroll_s, 1.5);
  EXPECT_EQ(parse_config("streaming: {preroll_s: auto}", "test.yaml").streaming.preroll_s, std::nullopt);
  EXPECT_EQ(c.outputs.portaudio_device, "3");
  EXPECT_EQ(c.logging.level, "debug");
}

// The codec's device and precision are unset unless given: then they follow model.device and
// model.precision (BackendChoice); any layer can set them.
TEST(DaemonConfig, CodecDeviceAndPrecisionAreUnsetUnlessGiven) {
  const DaemonConfig absent = parse_config("model: {device: cuda, precision: fp8}", "test.yaml");
  EXPECT_FALSE(absent.model.codec_device.has_value());
  EXPECT_FALSE(absent.model.codec_precision.has_value());
  const DaemonConfig file = parse_config("model: {device: cuda, precision: fp8, codec_device: cpu, codec_precision: fp32}",
                                         "test.yaml");
  EXPECT_EQ(file.model.codec_device, "cpu");
  EXPECT_EQ(file.model.codec_precision, "fp32");
  const DaemonConfig env = parse_config("", "test.yaml", {{"HEARTSTREAM_MODEL_CODEC_DEVICE", "cuda"}},
                                        {{"model.codec_precision", "bf16"}});
  EXPECT_EQ(env.model.codec_device, "cuda");
  EXPECT_EQ(env.model.codec_precision, "bf16");
}

// A GPU by its number; one engine worker per entry of model.devices, from a YAML list, a
// comma-separated value in the environment or on the command line, or "all".
TEST(DaemonConfig, DevicesByNumberAndOneWorkerPerListedDevice) {
  const DaemonConfig numbered = parse_config("model: {device: cuda:1, codec_device: cuda:12}", "test.yaml");
  EXPECT_EQ(numbered.model.device, "cuda:1");
  EXPECT_EQ(numbered.model.codec_device, "cuda:12");
  EXPECT_TRUE(numbered.model.devices.empty());
  const std::vector<std::string> two{"cuda:0", "cuda:1"};
  EXPECT_EQ(parse_config("model: {devices: [cuda:0, cuda:1]}", "test.yaml").model.devices, two);
  EXPECT_EQ(parse_config("", "test.yaml", {{"HEARTSTREAM_MODEL_DEVICES", "cuda:0, cuda:1"}}).model.devices, two);
  EXPECT_EQ(parse_config("", "test.yaml", {}, {{"model.devices", "cpu,cpu,cuda"}}).model.devices,
            (std::vector<std::string>{"cpu", "cpu", "cuda"}));
  EXPECT_EQ(parse_config("model: {devices: all, codec_device: cpu}", "test.yaml").model.devices,
            std::vector<std::string>{"all"});
}

TEST(DaemonConfig, EmptyFileGivesDefaults) {
  const DaemonConfig c = parse_config("", "empty.yaml");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.bind, "127.0.0.1");
}

TEST(DaemonConfig, BadValuesNameTheKeyAndTheValue) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"server: {port: abc}", R"(server.port (from test.yaml:1): expected an integer in 0..65535, got "abc")"},
      {"server: {port: 70000}", "server.port (from test.yaml:1): expected an integer in 0..65535, got \"70000\""},
      {"server: {port: 80.5}", "server.port"},
      {"server: {port: }", "got \"\""},
      {"server: {threads: 0}", "server.threads"},
      {"server: {bind: localhost}", "server.bind (from test.yaml:1): expected an IPv4 or IPv6 address"},
      {"server: {slow_reader_timeout_s: 0}", "server.slow_reader_timeout_s (from test.yaml:1): expected a number in (0, 3600]"},
      {"server: {slow_reader_timeout_s: nan}", "server.slow_reader_timeout_s"},
      {"server: {max_message_bytes: 10}", "server.max_message_bytes"},
      {"server: {queue_limit: -1}", R"(server.queue_limit (from test.yaml:1): expected an integer in 0..65536, got "-1")"},
      {"server: {realtime_headroom: 0}", "server.realtime_headroom (from test.yaml:1): expected a number in (0, 1] or off"},
      {"server: {realtime_headroom: 1.5}", "server.realtime_headroom (from test.yaml:1): expected a number in (0, 1] or off"},
      {"server: {realtime_headroom: Off}", R"(server.realtime_headroom (from test.yaml:1): expected a number in (0, 1] or off, got "Off")"},
      {"model: {device: gpu}", R"(model.device (from test.yaml:1): expected one of cpu, cuda, cuda:N (N: a CUDA device number), got "gpu")"},
      {"model: {device: cuda:01}", R"(model.device (from test.yaml:1): expected one of cpu, cuda, cuda:N (N: a CUDA device number), got "cuda:01")"},
      {"model: {device: 'cuda:'}", R"(model.device (from test.yaml:1): expected one of cpu, cuda, cuda:N (N: a CUDA device number), got "cuda:")"},
      {"model: {device: cuda:-1}", "model.device (from test.yaml:1): expected one of cpu"},
      {"model: {devices: [cuda:0, gpu]}",
       R"(model.devices (from test.yaml:1): expected all, or a list of devices: cpu, cuda, cuda:N (N: a CUDA device number), got "cuda:0,gpu")"},
      {"model: {devices: 'cuda:0,'}", "model.devices (from test.yaml:1): expected all, or a list of devices"},
      {"model: {devices: [[cuda:0]]}", "model.devices: expected a single value or a list of them, got a list (test.yaml:1:"},
      {"model: {device: [cuda:0]}", "model.device: expected a single value, got a list (test.yaml:1:"},
      {"model: {devices: [cuda:0, cuda:1], codec_device: cuda:1}",
       "model.codec_device: cuda:1 with model.devices: each engine worker's codec runs on its own device, or on the CPU "
       "(codec_device: cpu)"},
      {"model: {precision: int8}", R"(model.precision (from test.yaml:1): expected one of fp32, bf16, fp8, nf4, int4, got "int8")"},
      {"model: {kv_cache_gb: -1}", "model.kv_cache_gb (from test.yaml:1): expected a number in [0, 4096]"},
      {"server: {prefill_per_round: -1}",
       R"(server.prefill_per_round (from test.yaml:1): expected an integer in 0..1048576, got "-1")"},
      {"model: {kv_cache: bf16}", R"(model.kv_cache (from test.yaml:1): expected one of auto, fp8, got "bf16")"},
      {"model: {vram_budget_gb: 0}", "model.vram_budget_gb (from test.yaml:1): expected a number of GB in (0, 4096], free or off"},
      {"model: {vram_budget_gb: lots}",
       R"(model.vram_budget_gb (from test.yaml:1): expected a number of GB in (0, 4096], free or off, got "lots")"},
      {"model: {codec_device: gpu}", R"(model.codec_device (from test.yaml:1): expected one of cpu, cuda, cuda:N (N: a CUDA device number), got "gpu")"},
      {"model: {codec_device: }", R"(model.codec_device (from test.yaml:1): expected one of cpu, cuda, cuda:N (N: a CUDA device number), got "")"},
      {"model: {codec_precision: int4}",
       R"(model.codec_precision (from test.yaml:1): expected one of fp32, bf16, fp8, got "int4")"},
      {"model: {version: ''}", "model.version (from test.yaml:1): expected a non-empty string"},
      {"generation: {temperature: -1}", "generation.temperature"},
      {"generation: {topk: 0}", "generation.topk"},
      {"generation: {cfg_scale: high}", "generation.cfg_scale"},
      {"generation: {max_tags_bytes: 100000}", "generation.max_tags_bytes"},
      {"generation: {max_audio_length_ms: 700000}",
       "generation.max_audio_length_ms: the default (700000) exceeds generation.max_audio_length_ms_limit (600000)"},
      {"streaming: {chunk_frames: -2}", "streaming.chunk_frames"},
      {"streaming: {first_chunk_frames: 0}", "streaming.first_chunk_frames"},
      {"streaming: {first_chunk_frames: 32}",
       "streaming.first_chunk_frames: 32 exceeds streaming.chunk_frames (16): a song's first chunk is at most as long as the others"},
      {"streaming: {lookahead_s: 1e9}", "streaming.lookahead_s"},
      {"streaming: {codec_batch: 0}", "streaming.codec_batch"},
      {"streaming: {preroll_s: soon}",
       "streaming.preroll_s (from test.yaml:1): expected a number of seconds in [0, 60] or auto"},
      {"streaming: {preroll_s: 61}", "streaming.preroll_s"},
      {"logging: {level: loud}", "logging.level"},
      {"server: {port: [1, 2]}", "server.port: expected a single value, got a list"},
      {"server: [port]", "server: expected a mapping of keys, got a list (test.yaml:1)"},
      {"- 1\n- 2", "test.yaml:1: expected a mapping of sections at the top, got a list"},
      {"server: {port: 1", "test.yaml:"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.yaml);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.yaml << "\n→ " << message;
  }
}

TEST(DaemonConfig, UnknownKeysAtEveryDepth) {
  EXPECT_EQ(error_of("sever: {port: 1}").rfind("sever: unknown section in test.yaml:1", 0), 0u) << error_of("sever: {}");
  EXPECT_EQ(error_of("server: {prot: 1}"), "server.prot: unknown key in test.yaml:1");
  EXPECT_EQ(error_of("generation:\n  topk: 5\n  top_p: 0.9"), "generation.top_p: unknown key in test.yaml:3");
  EXPECT_EQ(error_of("server: {bind: {host: x}}").rfind("server.bind: expected a single value, got a mapping", 0), 0u);
  EXPECT_EQ(error_of("", {}, {{"server.nope", "1"}}), "server.nope: unknown key (command-line override)");
  EXPECT_NE(error_of("", {{"HEARTSTREAM_SERVER_PROT", "1"}}).find("HEARTSTREAM_SERVER_PROT: unknown setting"),
            std::string::npos);
}

TEST(DaemonConfig, EnvironmentThenCommandLineOverrideTheFile) {
  const std::string yaml = "server: {port: 9000, bind: 0.0.0.0}\nmodel: {path: /from/file}";
  const DaemonConfig file_only = parse_config(yaml, "test.yaml");
  EXPECT_EQ(file_only.server.port, 9000);
  const Environment env = {{"HEARTSTREAM_SERVER_PORT", "9100"},
                           {"HEARTSTREAM_MODEL_PATH", "/from/env"},
                           {"HEARTSTREAM_SHARED_DIR", "/not/a/config/key"}};
  const DaemonConfig with_env = parse_config(yaml, "test.yaml", env);
  EXPECT_EQ(with_env.server.port, 9100);
  EXPECT_EQ(with_env.model.path, "/from/env");
  EXPECT_EQ(with_env.server.bind, "0.0.0.0");
  const DaemonConfig with_flags = parse_config(yaml, "test.yaml", env, {{"server.port", "9200"}, {"model.device", "cuda"}});
  EXPECT_EQ(with_flags.server.port, 9200);
  EXPECT_EQ(with_flags.model.path, "/from/env");
  EXPECT_EQ(with_flags.model.device, "cuda");
  EXPECT_EQ(error_of(yaml, {{"HEARTSTREAM_SERVER_PORT", "x"}}),
            R"(server.port (from HEARTSTREAM_SERVER_PORT): expected an integer in 0..65535, got "x")");
  EXPECT_EQ(error_of(yaml, {}, {{"server.port", "-1"}}),
            R"(server.port (from command line): expected an integer in 0..65535, got "-1")");
}

TEST(DaemonConfig, EnvironmentNames) {
  EXPECT_EQ(environment_name("server.auth_token"), "HEARTSTREAM_SERVER_AUTH_TOKEN");
  EXPECT_EQ(environment_name("generation.max_audio_length_ms"), "HEARTSTREAM_GENERATION_MAX_AUDIO_LENGTH_MS");
}

TEST(DaemonConfig, MissingFileIsAnError) {
  EXPECT_THROW(load_config(std::filesystem::path("/nonexistent/heartstream.yaml"), {}, {}), ConfigError);
}

// The error message of load_config on `file`, or "" when it loads.
std::string load_error_of(const std::filesystem::path& file) {
  try {
    load_config(file, {}, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A directory, a device that never ends and an oversized file are errors naming the file; the
// device and the large file are not read to their end.
TEST(DaemonConfig, OnlyBoundedRegularFilesAreRead) {
  const auto dir = std::filesystem::temp_directory_path() / ("hs_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string of_dir = load_error_of(dir);
  EXPECT_EQ(of_dir.rfind(dir.string() + ": ", 0), 0u) << of_dir;
  EXPECT_NE(of_dir.find("directory"), std::string::npos) << of_dir;
  const std::string of_device = load_error_of("/dev/zero");
  EXPECT_EQ(of_device.rfind("/dev/zero: ", 0), 0u) << of_device;
  EXPECT_NE(of_device.find("not a regular file"), std::string::npos) << of_device;
  const auto big = dir / "big.yaml";
  std::ofstream(big) << "# " << std::string(kMaxConfigFileBytes, 'x') << "\n";
  const std::string of_big = load_error_of(big);
  EXPECT_EQ(of_big.rfind(big.string() + ": ", 0), 0u) << of_big;
  EXPECT_NE(of_big.find(std::to_string(kMaxConfigFileBytes)), std::string::npos) << of_big;
  std::filesystem::remove_all(dir);
}

TEST(DaemonConfig, DuplicateKeysNameBothLines) {
  EXPECT_EQ(error_of("server:\n  port: 1\n  bind: ::1\n  port: 2\n"),
            "server.port: duplicate key in test.yaml:4 (first at line 2)");
  EXPECT_EQ(error_of("server: {port: 1}\nmodel: {}\nserver: {port: 2}\n"),
            "server: duplicate section in test.yaml:3 (first at line 1)");
}

// Whatever is wrong in the file, the message says where: the file and the line.
TEST(DaemonConfig, EveryFileErrorNamesTheFileAndLine) {
  const char* cases[] = {
      "\n\nserver: {port: 1",        // syntax
      "\n\nserver: {? [a, b] : 1}",  // a key that is not a name
      "\n\n? {a: 1}\n: {}",         // a section that is not a name
      "\n\nserver: {port: x}",       // a bad value
      "\n\nserver: {prot: 1}",       // an unknown key
      "\n\nserver: 5",               // a section that is not a mapping
      "\n\n\"\\0server\": {}",        // a name with a control character (never quoted as is)
  };
  for (const char* yaml : cases) {
    const std::string message = error_of(yaml);
    EXPECT_NE(message.find("test.yaml:3"), std::string::npos) << yaml << "\n→ " << message;
  }
}

// A message carries tags and lyrics as JSON: the limit leaves room for both at their own limits,
// escaped (a \uXXXX for every 2-byte character is three times the bytes).
TEST(DaemonConfig, MessageLimitHoldsTheTextLimits) {
  const DaemonConfig d;
  EXPECT_GE(d.server.max_message_bytes,
            kJsonEscapeFactor * (d.generation.max_tags_bytes + d.generation.max_lyrics_bytes) + kMessageOverheadBytes);
  const std::string message = error_of("server: {max_message_bytes: 65536}");
  EXPECT_EQ(message.rfind("server.max_message_bytes: 65536 cannot hold", 0), 0u) << message;
  EXPECT_NE(message.find("generation.max_lyrics_bytes (65536)"), std::string::npos) << message;
  EXPECT_EQ(error_of("server: {max_message_bytes: 65536}\ngeneration: {max_tags_bytes: 1024, max_lyrics_bytes: 16384}"),
            "");
}

}  // namespace
}  // namespace hs::daemon
