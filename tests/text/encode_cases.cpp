#include "tests/text/encode_cases.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include <boost/json.hpp>

namespace hs::test {
namespace {

std::vector<std::int32_t> ids_of(const boost::json::value& v) {
  std::vector<std::int32_t> ids;
  for (const auto& id : v.as_array())
    ids.push_back(static_cast<std::int32_t>(id.to_number<std::int64_t>()));
  return ids;
}

}  // namespace

std::vector<EncodeCase> read_encode_cases(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const boost::json::value doc = boost::json::parse(text);
  std::vector<EncodeCase> cases;
  for (const auto& item : doc.as_array()) {
    const auto& o = item.as_object();
    cases.push_back(EncodeCase{std::string(o.at("text").as_string()), ids_of(o.at("ids")),
                               ids_of(o.at("ids_with_bos")),
                               std::string(o.at("decoded").as_string())});
  }
  return cases;
}

}  // namespace hs::test
