#include "clients/cli/run_report.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <utility>

#include <boost/json.hpp>

#include "engine/core/error.h"

namespace hs::cli {

namespace json = boost::json;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::array<char, sizeof("2000-01-01T00:00:00Z")> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf.data();
}

std::string current_commit() {
  const auto run = [](const char* command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command, "r"), ::pclose);
    std::string out;
    if (!pipe) return out;
    std::array<char, 128> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  };
  std::string commit = run("git rev-parse HEAD 2>/dev/null");
  if (!commit.empty() && !run("git status --porcelain --untracked-files=no 2>/dev/null").empty()) commit += "-dirty";
  return commit;
}

void write_json(std::ostream& out, const json::value& v) {
  if (v.is_double()) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.10g", v.get_double());
    out << buf.data();
  } else if (v.is_object()) {
    out << '{';
    const char* sep = "";
    for (const auto& [key, value] : v.get_object()) {
      out << std::exchange(sep, ",") << json::serialize(json::value(key)) << ':';
      write_json(out, value);
    }
    out << '}';
  } else if (v.is_array()) {
    out << '[';
    const char* sep = "";
    for (const json::value& item : v.get_array()) write_json(out << std::exchange(sep, ","), item);
    out << ']';
  } else {
    out << json::serialize(v);
  }
}

void write_report_head(std::ostream& out, const std::string& date, const std::string& commit,
                       const std::string& command) {
  out << "{\n\"date\": " << json::serialize(json::value(date))
      << ",\n\"commit\": " << (commit.empty() ? "null" : json::serialize(json::value(commit)))
      << ",\n\"command\": " << json::serialize(json::value(command));
}

void write_json_lines(std::ostream& out, const json::array& items) {
  out << '[';
  for (std::size_t i = 0; i < items.size(); ++i) write_json(out << (i ? ",\n  " : "\n  "), items[i]);
  out << "\n]";
}

json::object counts_json(const std::map<std::string, std::int64_t>& counts) {
  json::object o;
  for (const auto& [kind, n] : counts) o[kind] = n;
  return o;
}

json::array strings_json(const std::vector<std::string>& strings) {
  json::array a;
  for (const std::string& s : strings) a.emplace_back(s);
  return a;
}

void write_report(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw Error("cannot write the report to " + path);
}

void end_run(std::string_view command, bool interrupted, const std::vector<std::string>& failures) {
  if (interrupted) throw Error("interrupted; the report covers the run so far");
  if (failures.empty()) return;
  std::string why;
  for (const std::string& f : failures) why += (why.empty() ? "" : "; ") + f;
  throw Error(std::string(command) + " failed: " + why);
}

}  // namespace hs::cli
