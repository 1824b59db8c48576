// Config readers on the golden configs (values checked against an independent boost::json read of
// the same file) and on malformed temp files.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "engine/io/config.h"
#include "tests/io/io_test_util.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

namespace json = boost::json;

json::object load_object(const std::filesystem::path& path) {
  return json::parse(test::read_bytes(path)).as_object();
}

std::vector<std::int64_t> int_list(const json::value& v) {
  std::vector<std::int64_t> out;
  for (const auto& x : v.as_array()) out.push_back(x.to_number<std::int64_t>());
  return out;
}

TEST(ConfigGolden, MulaConfigMatchesTheFile) {
  HS_REQUIRE_SHARED(path, "golden/mula-tiny/config.json");
  const json::object j = load_object(path);
  const MulaConfig c = read_mula_config(path);
  EXPECT_EQ(c.backbone_flavor, j.at("backbone_flavor").as_string());
  EXPECT_EQ(c.decoder_flavor, j.at("decoder_flavor").as_string());
  EXPECT_EQ(c.text_vocab_size, j.at("text_vocab_size").to_number<std::int64_t>());
  EXPECT_EQ(c.audio_vocab_size, j.at("audio_vocab_size").to_number<std::int64_t>());
  EXPECT_EQ(c.audio_num_codebooks, j.at("audio_num_codebooks").to_number<std::int64_t>());
  EXPECT_EQ(c.muq_dim, j.at("muq_dim").to_number<std::int64_t>());
}

TEST(ConfigGolden, CodecConfigMatchesTheFile) {
  HS_REQUIRE_SHARED(path, "golden/codec-tiny/config.json");
  const json::object j = load_object(path);
  const CodecConfig c = read_codec_config(path);
  const std::pair<const char*, std::int64_t> ints[] = {
      {"dim", c.dim}, {"codebook_size", c.codebook_size}, {"codebook_dim", c.codebook_dim},
      {"num_quantizers", c.num_quantizers}, {"num_attention_heads", c.num_attention_heads},
      {"attention_head_dim", c.attention_head_dim}, {"num_layers", c.num_layers}, {"num_layers_2", c.num_layers_2},
      {"in_channels", c.in_channels}, {"out_channels", c.out_channels}, {"latent_hidden_dim", c.latent_hidden_dim},
      {"init_channel", c.init_channel}, {"num_samples", c.num_samples}, {"res_kernel_size", c.res_kernel_size},
      {"default_kernel_size", c.default_kernel_size}, {"delay_kernel_size", c.delay_kernel_size},
      {"sample_rate", c.sample_rate}};
  for (const auto& [key, value] : ints) EXPECT_EQ(value, j.at(key).to_number<std::int64_t>()) << key;
  EXPECT_EQ(c.upsample_factors, int_list(j.at("upsample_factors")));
  EXPECT_EQ(c.upsample_kernel_sizes, int_list(j.at("upsample_kernel_sizes")));
  EXPECT_EQ(c.causal, j.at("causal").as_bool());
}

TEST(ConfigGolden, GenConfigMatchesTheFile) {
  HS_REQUIRE_SHARED(path, "golden/gen_config.json");
  const json::object j = load_object(path);
  const GenConfig c = read_gen_config(path);
  EXPECT_EQ(c.text_bos_id, j.at("text_bos_id").to_number<std::int64_t>());
  EXPECT_EQ(c.text_eos_id, j.at("text_eos_id").to_number<std::int64_t>());
  EXPECT_EQ(c.audio_eos_id, j.at("audio_eos_id").to_number<std::int64_t>());
  EXPECT_EQ(c.empty_id, j.at("empty_id").to_number<std::int64_t>());
}

TEST(ConfigGolden, CodecSampleRateDefaultsWhenAbsent) {
  HS_REQUIRE_SHARED(golden, "golden/codec-tiny/config.json");
  test::TempDir dir;
  json::object j = load_object(golden);
  j.erase("sample_rate");
  const auto path = dir / "config.json";
  test::write_bytes(path, json::serialize(j));
  const CodecConfig c = read_codec_config(path);
  EXPECT_EQ(c.sample_rate, 48000);
  EXPECT_EQ(c.dim, read_codec_config(golden).dim);
}

const json::object kGenBase = {{"text_bos_id", 1}, {"text_eos_id", 2}, {"audio_eos_id", 3}, {"empty_id", 0}};
const json::object kMulaBase = {{"backbone_flavor", "llama-tiny"}, {"decoder_flavor", "llama-tiny-dec"},
                                {"text_vocab_size", 10}, {"audio_vocab_size", 11},
                                {"audio_num_codebooks", 8}, {"muq_dim", 4}};

// Writes `text` as <case>.json, expects FormatError naming the file and every needle.
void expect_bad_config(const std::string& name, const std::string& text, const std::vector<std::string>& needles,
                       const std::function<void(const std::filesystem::path&)>& reader) {
  test::TempDir dir;
  const auto path = dir / (name + ".json");
  test::write_bytes(path, text);
  std::vector<std::string> all = needles;
  all.push_back(name + ".json");
  EXPECT_TRUE(test::throws_format_error([&] { reader(path); }, all)) << name;
}

json::object with(json::object base, const std::string& key, json::value value) {
  base[key] = std::move(value);
  return base;
}

json::object without(json::object base, const std::string& key) {
  base.erase(key);
  return base;
}

TEST(ConfigMalformed, GenConfig) {
  const auto read = [](const std::filesystem::path& p) { read_gen_config(p); };
  expect_bad_config("bad_json", "{\"text_bos_id\": 1,", {"invalid JSON"}, read);
  expect_bad_config("not_object", "[1]", {"not a JSON object"}, read);
  expect_bad_config("missing_key", json::serialize(without(kGenBase, "audio_eos_id")), {"'audio_eos_id'", "missing"}, read);
  expect_bad_config("string_id", json::serialize(with(kGenBase, "empty_id", "0")), {"'empty_id'", "expected an integer"}, read);
  expect_bad_config("float_id", json::serialize(with(kGenBase, "empty_id", 1.5)), {"'empty_id'", "expected an integer"}, read);
  expect_bad_config("id_past_int32", json::serialize(with(kGenBase, "text_bos_id", 2147483648LL)),
                    {"'text_bos_id'", "out of range"}, read);
  expect_bad_config("id_past_uint63", json::serialize(with(kGenBase, "text_bos_id", 18446744073709551615ULL)),
                    {"'text_bos_id'", "out of range"}, read);
  expect_bad_config("negative_id", json::serialize(with(kGenBase, "text_eos_id", -1)), {"'text_eos_id'", "out of range"}, read);
  expect_bad_config("duplicate_key", R"({"text_bos_id":1,"text_bos_id":2,"text_eos_id":2,"audio_eos_id":3,"empty_id":0})",
                    {"duplicate key", "text_bos_id"}, read);
}

TEST(ConfigMalformed, MulaConfig) {
  const auto read = [](const std::filesystem::path& p) { read_mula_config(p); };
  expect_bad_config("negative_vocab", json::serialize(with(kMulaBase, "text_vocab_size", -5)),
                    {"'text_vocab_size'", "out of range"}, read);
  expect_bad_config("zero_codebooks", json::serialize(with(kMulaBase, "audio_num_codebooks", 0)),
                    {"'audio_num_codebooks'", "out of range"}, read);
  expect_bad_config("flavor_not_string", json::serialize(with(kMulaBase, "backbone_flavor", 3)),
                    {"'backbone_flavor'", "expected a non-empty string"}, read);
  expect_bad_config("missing_muq", json::serialize(without(kMulaBase, "muq_dim")), {"'muq_dim'", "missing"}, read);
}

TEST(ConfigMalformed, CodecConfig) {
  HS_REQUIRE_SHARED(golden, "golden/codec-tiny/config.json");
  const json::object base = load_object(golden);
  const auto read = [](const std::filesystem::path& p) { read_codec_config(p); };
  expect_bad_config("causal_not_bool", json::serialize(with(base, "causal", 1)), {"'causal'", "expected a boolean"}, read);
  expect_bad_config("factors_not_array", json::serialize(with(base, "upsample_factors", 5)),
                    {"'upsample_factors'", "array"}, read);
  expect_bad_config("factor_negative", json::serialize(with(base, "upsample_factors", json::array{5, -4, 4, 4, 3})),
                    {"'upsample_factors'", "out of range"}, read);
  expect_bad_config("kernel_count", json::serialize(with(base, "upsample_kernel_sizes", json::array{10, 8})),
                    {"'upsample_kernel_sizes'", "entries"}, read);
  expect_bad_config("sample_rate_string", json::serialize(with(base, "sample_rate", "48k")),
                    {"'sample_rate'", "expected an integer"}, read);
  expect_bad_config("missing_dim", json::serialize(without(base, "dim")), {"'dim'", "missing"}, read);
}

TEST(Config, UnknownKeysAreIgnored) {
  test::TempDir dir;
  const auto path = dir / "gen_config.json";
  test::write_bytes(path, json::serialize(with(kGenBase, "some_future_key", json::array{1, "x"})));
  const GenConfig c = read_gen_config(path);
  EXPECT_EQ(c.text_bos_id, kGenBase.at("text_bos_id").as_int64());
  EXPECT_EQ(c.audio_eos_id, kGenBase.at("audio_eos_id").as_int64());
}

TEST(Config, MissingFileNamesIt) {
  test::TempDir dir;
  EXPECT_TRUE(test::throws_format_error([&] { read_gen_config(dir / "gen_config.json"); }, {"gen_config.json", "missing"}));
  EXPECT_TRUE(test::throws_format_error([&] { read_mula_config(dir.path()); }, {dir.path().string(), "not a regular file"}));
}

}  // namespace
}  // namespace hs
