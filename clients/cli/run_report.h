// What every measuring command of the CLI (soak, loadtest) writes about its run: when it started,
// from what commit, and JSON laid out as people read it.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace hs::cli {

// UTC ISO 8601 now ("2000-01-01T00:00:00Z").
std::string utc_now();

// `git rev-parse HEAD` where the tool runs ("-dirty" when the tree has changes; empty outside a
// checkout).
std::string current_commit();

// JSON text like json::serialize's, but numbers as people write them ("30", "1051.16", not "3E1").
void write_json(std::ostream& out, const boost::json::value& v);

// A report's opening: `{` and its "date", "commit" (null when empty) and "command", one per line.
void write_report_head(std::ostream& out, const std::string& date, const std::string& commit,
                       const std::string& command);
// An array with one item per line (diffable when committed).
void write_json_lines(std::ostream& out, const boost::json::array& items);

// A count per kind as a JSON object; strings as a JSON array.
boost::json::object counts_json(const std::map<std::string, std::int64_t>& counts);
boost::json::array strings_json(const std::vector<std::string>& strings);

// Writes `text` to `path`; Error naming the path when it cannot.
void write_report(const std::string& path, const std::string& text);

// The end of a measuring run: Error when a signal interrupted it, or "<command> failed: <the
// failures, joined by '; '>" when there are any.
void end_run(std::string_view command, bool interrupted, const std::vector<std::string>& failures);

}  // namespace hs::cli
