// What every measuring command of the CLI (soak, loadtest) writes about its run: when it started,
// from what commit, and JSON laid out as people read it.
#pragma once

#include <ostream>
#include <string>

#include <boost/json/value.hpp>

namespace hs::cli {

// UTC ISO 8601 now ("2000-01-01T00:00:00Z").
std::string utc_now();

// `git rev-parse HEAD` where the tool runs ("-dirty" when the tree has changes; empty outside a
// checkout).
std::string current_commit();

// JSON text like json::serialize's, but numbers as people write them ("30", "1051.16", not "3E1").
void write_json(std::ostream& out, const boost::json::value& v);

}  // namespace hs::cli
