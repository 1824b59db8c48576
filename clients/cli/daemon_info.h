// heartstreamd's GET /v1/info (docs/protocol.md): its model, device, limits and load, read before
// a run so that options are checked against this daemon's limits and the report says what ran.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "clients/cli/ws_client.h"

namespace hs::cli {

// Asks the host and port of `url` (with `Authorization: Bearer <token>` unless empty). Throws Error
// naming the address when it cannot be reached or does not answer 200 with a JSON object.
boost::json::object fetch_daemon_info(const StreamUrl& url, const std::string& token);

}  // namespace hs::cli
