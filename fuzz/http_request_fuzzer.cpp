// The HTTP request path as heartstreamd reads it: raw bytes from the socket through Beast's request
// parser with the daemon's limits (one or more pipelined requests, fed in chunks whose size the
// first input byte picks), then each request target looked up in the web root's allowlist the way
// GET does (daemon/static_files.h). The parser either yields requests or an error; only the web
// client's files are served; the 404 reply naming the path is valid JSON. A crash, a hang or a
// sanitizer report is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "daemon/config.h"
#include "daemon/protocol.h"
#include "daemon/static_files.h"
#include "fuzz/check.h"
#include "fuzz/temp_file.h"

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using Parser = http::request_parser<http::string_body>;

// A web root with the web client's kinds of files and some that must never be served, and the
// daemon's allowlist of it.
const hs::daemon::StaticFiles& static_files() {
  static const hs::daemon::StaticFiles files = [] {
    const auto dir = hs::fuzz::scratch_dir() / "web";
    std::filesystem::create_directories(dir / "sub");
    for (const char* name : {"index.html", "app.js", "style.css", "package.json", "app.test.js", ".env", "sub/inner.js"})
      hs::fuzz::write_file(dir / name, name);
    hs::fuzz::write_file(hs::fuzz::scratch_dir() / "secret.html", "secret");
    return hs::daemon::StaticFiles(dir);
  }();
  return files;
}

void check_request(const http::request<http::string_body>& req) {
  const std::string_view target = req.target();
  if (const auto file = static_files().find(target)) {
    const std::string name = file->path.filename().string();
    FUZZ_CHECK(name == "index.html" || name == "app.js" || name == "style.css", "a file outside the allowlist is served");
    FUZZ_CHECK(file->path.parent_path() == hs::fuzz::scratch_dir() / "web", "a static file outside the web root's top level");
    FUZZ_CHECK(!file->content_type.empty(), "a static file without a content type");
  }
  const std::string path(target.substr(0, target.find('?')));
  json::error_code ec;
  const json::value reply = json::parse(hs::daemon::error_message("not_found", "no such page: " + path), ec);
  FUZZ_CHECK(!ec && reply.is_object(), "the 404 reply for this path is not valid JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] % 16 == 0 ? size : data[0] % 16;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  const std::size_t total = size - 1;

  const std::int64_t body_limit = hs::daemon::ServerConfig{}.max_message_bytes;
  std::optional<Parser> parser;
  parser.emplace().body_limit(static_cast<std::uint64_t>(body_limit));
  std::size_t used = 0;   // bytes the parser consumed
  std::size_t avail = 0;  // bytes "received" so far
  while (true) {
    boost::beast::error_code ec;
    const std::size_t before = avail;
    avail = std::min(total, avail + chunk);
    const std::size_t consumed = parser->put(boost::asio::buffer(bytes + used, avail - used), ec);
    used += consumed;
    if (ec == http::error::need_more) {
      if (avail == total) break;  // the client stopped mid-request: the daemon's timeout closes
      continue;
    }
    if (ec) break;  // malformed or over a limit: the daemon answers with an error status
    if (parser->is_done()) {
      check_request(parser->get());
      parser.emplace().body_limit(static_cast<std::uint64_t>(body_limit));
      if (used == total) break;
    } else if (consumed == 0 && avail == before) {
      break;  // no progress and nothing more to feed
    }
  }
  return 0;
}
