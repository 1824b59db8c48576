// heartstreamd's YAML configuration (daemon/config.h): the input is the file's text. Every text is
// either a configuration that passes the daemon's own limits or a ConfigError naming what was
// wrong; any other exception (a yaml-cpp one escaping), a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/config.h"
#include "fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const hs::daemon::DaemonConfig config = hs::daemon::parse_config(text, "fuzz.yaml");
    const auto& s = config.server;
    FUZZ_CHECK(s.port >= 0 && s.port <= 65535, "server.port out of range");
    FUZZ_CHECK(s.threads >= 1 && s.max_sessions >= 1 && s.send_queue_messages >= 1, "a count below 1");
    FUZZ_CHECK(s.max_message_bytes > 0 && s.slow_reader_timeout_s > 0, "a non-positive limit");
    const auto& g = config.generation;
    FUZZ_CHECK(g.max_audio_length_ms <= g.max_audio_length_ms_limit, "default audio length above its limit");
    FUZZ_CHECK(g.topk >= 1 && g.temperature >= 0 && g.cfg_scale >= 0, "a sampler setting out of range");
    FUZZ_CHECK(config.streaming.chunk_frames >= 1 && config.streaming.lookahead_s > 0, "a streaming setting out of range");
  } catch (const hs::daemon::ConfigError& e) {
    FUZZ_CHECK(std::string(e.what()).size() > 0, "an empty error message");
  }
  return 0;
}
