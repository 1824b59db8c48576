// `heartstream tokenize`: token ids of text read from stdin, as JSON arrays.
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "clients/cli/commands.h"
#include "engine/core/error.h"
#include "engine/text/tokenizer.h"

namespace hs::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer_path;  // tokenizer.json
  bool no_special = false;     // leave out the post-processor's tokens (BOS)
  bool jsonl = false;          // one JSON string per input line instead of one raw text
};

void print_ids(const std::vector<std::int32_t>& ids, std::ostream& out) {
  out << '[';
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? "," : "") << ids[i];
  out << "]\n";
}

// The string a --jsonl line holds; InvalidArgument naming the line otherwise.
std::string parse_jsonl_line(const std::string& line, std::size_t line_number) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_string())
    throw InvalidArgument("stdin line " + std::to_string(line_number) + " is not a JSON string" +
                          (ec ? " (" + ec.message() + ")" : ""));
  return std::string(v.get_string());
}

void run_tokenize(const TokenizeOptions& opt, std::istream& in, std::ostream& out) {
  const Tokenizer tokenizer = Tokenizer::load(opt.tokenizer_path);
  const bool add_special = !opt.no_special;
  if (!opt.jsonl) {
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    print_ids(tokenizer.encode(text, add_special), out);
    return;
  }
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    print_ids(tokenizer.encode(parse_jsonl_line(line, number), add_special), out);
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opt = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Print the token ids of UTF-8 text read from stdin as a JSON array");
  cmd->add_option("--tokenizer", opt->tokenizer_path, "HuggingFace tokenizer.json")->required();
  cmd->add_flag("--no-special", opt->no_special, "Leave out special tokens (the BOS)");
  cmd->add_flag("--jsonl", opt->jsonl,
                "Each stdin line is a JSON string; print one array per line");
  cmd->callback([opt] { run_tokenize(*opt, std::cin, std::cout); });
}

}  // namespace hs::cli
