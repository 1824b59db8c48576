// `heartstream tokenize` end to end: the built binary on encode cases, raw and --jsonl, with and
// without --no-special, and a malformed --jsonl line.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/cli_run.h"
#include "tests/support/shared_data.h"
#include "tests/text/encode_cases.h"

namespace hs {
namespace {

// Cases used: empty, ASCII, CJK, emoji + ZWJ, a literal special token, mixed line endings, random.
constexpr std::size_t kCaseIndices[] = {0, 7, 17, 27, 32, 37, 43};

using test::RunResult;

class CliTokenize : public ::testing::Test {
 protected:
  void SetUp() override {
    HS_REQUIRE_SHARED(tokenizer, "tokenizer/llama3-tokenizer.json");
    HS_REQUIRE_SHARED(cases, "tokenizer/encode_cases.json");
    tokenizer_ = tokenizer;
    cases_ = test::read_encode_cases(cases);
    dir_ = std::filesystem::temp_directory_path() /
           ("hs_cli_tokenize_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  RunResult run(const std::string& stdin_bytes, const std::string& flags) const {
    const auto in = dir_ / "in", out = dir_ / "out", err = dir_ / "err";
    std::ofstream(in, std::ios::binary) << stdin_bytes;
    const std::string cmd = std::string("'") + HEARTSTREAM_BIN + "' tokenize --tokenizer '" +
                            tokenizer_.string() + "' " + flags + " < '" + in.string() + "'";
    return test::run_shell(cmd, err, out);
  }

  static std::vector<std::vector<std::int32_t>> parse_lines(const std::string& out) {
    std::vector<std::vector<std::int32_t>> rows;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      const boost::json::value row = boost::json::parse(line);
      std::vector<std::int32_t> ids;
      for (const auto& v : row.as_array())
        ids.push_back(static_cast<std::int32_t>(v.to_number<std::int64_t>()));
      rows.push_back(std::move(ids));
    }
    return rows;
  }

  std::filesystem::path tokenizer_;
  std::vector<test::EncodeCase> cases_;
  std::filesystem::path dir_;
};

TEST_F(CliTokenize, RawStdinWithAndWithoutSpecial) {
  for (const std::size_t i : kCaseIndices) {
    const auto& c = cases_.at(i);
    const RunResult with = run(c.text, "");
    ASSERT_EQ(with.exit_code, 0) << with.err;
    EXPECT_EQ(parse_lines(with.out), (std::vector<std::vector<std::int32_t>>{c.ids_with_bos}))
        << "case " << i;
    const RunResult without = run(c.text, "--no-special");
    ASSERT_EQ(without.exit_code, 0) << without.err;
    EXPECT_EQ(parse_lines(without.out), (std::vector<std::vector<std::int32_t>>{c.ids}))
        << "case " << i;
  }
}

TEST_F(CliTokenize, JsonlGivesOneArrayPerLine) {
  std::string input;
  std::vector<std::vector<std::int32_t>> with, without;
  for (const std::size_t i : kCaseIndices) {
    input += boost::json::serialize(boost::json::value(cases_.at(i).text)) + "\n";
    with.push_back(cases_.at(i).ids_with_bos);
    without.push_back(cases_.at(i).ids);
  }
  const RunResult a = run(input, "--jsonl");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(parse_lines(a.out), with);
  const RunResult b = run(input, "--jsonl --no-special");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(parse_lines(b.out), without);
}

TEST_F(CliTokenize, MalformedJsonlLineFailsNamingTheLine) {
  const RunResult r = run("\"fine\"\n{\"not\": \"a string\"}\n", "--jsonl");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  const RunResult broken = run("\"unterminated\n", "--jsonl");
  EXPECT_NE(broken.exit_code, 0);
  EXPECT_NE(broken.err.find("line 1"), std::string::npos) << broken.err;
}

TEST_F(CliTokenize, MissingTokenizerFileFails) {
  tokenizer_ = dir_ / "absent.json";
  const RunResult r = run("x", "");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("absent.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hs
