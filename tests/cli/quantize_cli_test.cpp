// `heartstream quantize` through the built binary on a demo checkpoint: both caches and
// quantization_config.json written (every linear listed with its bytes, the sources with their
// sizes), a second run rewrites nothing and says so, --keep keeps the matching linears out of the
// cache and later fp8 loads honour that list (bf16 values, on the CPU backend), and bad arguments
// and unreadable checkpoints fail with a message naming what was wrong.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/core/fp8_quantize.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/checkpoint.h"
#include "engine/io/fp8_weight_cache.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/lm/mula_model.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::int64_t kScaleBytes = 4;  // fp32 per output channel
constexpr std::int64_t kBf16Bytes = 2;
constexpr std::string_view kHeadKey = "codebook0_head.weight";
constexpr std::string_view kQuantizedKey = "backbone.layers.1.mlp.w2.weight";
constexpr std::string_view kCodecKey = "flow_matching.cond_feature_emb.weight";

class CliQuantize : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("hs_cli_quantize_" + std::to_string(::getpid())));
    CpuBackend backend;
    write_demo_checkpoint(*root_ / "source", backend);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  void SetUp() override {
    ::unsetenv(kWeightCacheEnvVar.data());
    ckpt_ = *root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::copy(*root_ / "source", ckpt_, fs::copy_options::recursive);
    paths_ = resolve_checkpoint(ckpt_, std::string(kDemoVersion));
  }
  void TearDown() override { fs::remove_all(ckpt_); }

  test::RunResult quantize(const std::string& extra) const {
    const std::string cmd = std::string("'") + HEARTSTREAM_BIN + "' quantize --model_path '" + ckpt_.string() +
                            "' --version " + std::string(kDemoVersion) + " " + extra;
    return test::run_shell(cmd, ckpt_ / "err.txt", ckpt_ / "out.txt");
  }
  json::object config() const { return json::parse(test::slurp(ckpt_ / "quantization_config.json")).as_object(); }
  fs::path lm_cache() const { return paths_.mula_dir / kFp8CacheFileName; }
  fs::path codec_cache() const { return paths_.codec_dir / kFp8CacheFileName; }

  // The linear `name` of the language model's config entry.
  static const json::object* linear(const json::object& model, std::string_view name) {
    for (const json::value& l : model.at("linears").as_array())
      if (l.at("name").as_string() == name) return &l.as_object();
    return nullptr;
  }

  static inline fs::path* root_ = nullptr;
  fs::path ckpt_;
  CheckpointPaths paths_;
};

// The cache's linear keys (its tensors without the .scales twins).
std::set<std::string> cache_keys(const fs::path& cache) {
  std::set<std::string> keys;
  const SafetensorsFile file = SafetensorsFile::open(cache);
  for (const TensorInfo& t : file.tensors())
    if (!t.name.ends_with(kFp8CacheScalesSuffix)) keys.insert(t.name);
  return keys;
}

TEST_F(CliQuantize, WritesBothCachesAndAConfigListingEveryLinear) {
  const test::RunResult r = quantize("");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::is_regular_file(lm_cache()));
  ASSERT_TRUE(fs::is_regular_file(codec_cache()));
  const json::object c = config();
  EXPECT_EQ(c.at("format_version").as_string(), kFp8CacheFormatVersion);
  EXPECT_EQ(c.at("scheme").as_string(), kFp8CacheScheme);
  EXPECT_TRUE(c.at("tool").as_string().starts_with("heartstream "));
  EXPECT_FALSE(c.at("granularity").as_string().empty());
  for (const auto& [name, cache] : {std::pair{"language_model", lm_cache()}, std::pair{"codec", codec_cache()}}) {
    const json::object& model = c.at("models").at(name).as_object();
    std::set<std::string> listed;
    std::int64_t bytes = 0;
    for (const json::value& v : model.at("linears").as_array()) {
      const json::object& l = v.as_object();
      listed.insert(std::string(l.at("name").as_string()));
      const std::int64_t out = l.at("shape").at(0).as_int64(), in = l.at("shape").at(1).as_int64();
      EXPECT_EQ(l.at("action").as_string(), "quantized");
      EXPECT_EQ(l.at("bytes").as_int64(), out * in + out * kScaleBytes) << l.at("name");
      EXPECT_EQ(l.at("bytes_bf16").as_int64(), out * in * kBf16Bytes) << l.at("name");
      bytes += l.at("bytes").as_int64();
    }
    EXPECT_EQ(listed, cache_keys(cache)) << name;
    EXPECT_EQ(model.at("totals").at("linear_bytes").as_int64(), bytes);
    EXPECT_LT(bytes, model.at("totals").at("linear_bytes_bf16").as_int64());
    const json::array& sources = model.at("sources").as_array();
    ASSERT_EQ(sources.size(), 1u);
    const fs::path dir = ckpt_ / std::string(model.at("folder").as_string());
    const fs::path source = dir / std::string(sources[0].at("file").as_string());
    EXPECT_EQ(sources[0].at("bytes").as_int64(), static_cast<std::int64_t>(fs::file_size(source)));
    EXPECT_GT(sources[0].at("mtime_ns").as_int64(), 0);
  }
  bool embeddings_listed = false;
  for (const json::value& t : c.at("models").at("language_model").at("other_tensors").as_array())
    embeddings_listed = embeddings_listed || (t.at("name").as_string() == "audio_embeddings.weight" &&
                                              t.at("reason").as_string().starts_with("not a linear"));
  EXPECT_TRUE(embeddings_listed);
}

TEST_F(CliQuantize, ASecondRunRewritesNothingAndSaysUpToDate) {
  ASSERT_EQ(quantize("--keep 'decoder.*'").exit_code, 0);
  const std::string lm = test::slurp(lm_cache()), codec = test::slurp(codec_cache());
  const std::string json_text = test::slurp(ckpt_ / "quantization_config.json");
  struct stat before {};
  ASSERT_EQ(::stat(lm_cache().c_str(), &before), 0);
  const test::RunResult again = quantize("--keep 'decoder.*'");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(test::slurp(lm_cache()), lm);
  EXPECT_EQ(test::slurp(codec_cache()), codec);
  EXPECT_EQ(test::slurp(ckpt_ / "quantization_config.json"), json_text);
  struct stat after {};
  ASSERT_EQ(::stat(lm_cache().c_str(), &after), 0);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_NE(again.out.find("language_model: HeartMuLa-oss-demo/" + std::string(kFp8CacheFileName) + " up to date"),
            std::string::npos) << again.out;
  EXPECT_NE(again.out.find("quantization_config.json up to date"), std::string::npos) << again.out;
}

TEST_F(CliQuantize, KeptLinearsStayOutOfTheCacheAndLaterLoadsHoldThemAtBf16) {
  const test::RunResult r =
      quantize("--keep 'codebook0_head.*' --keep '*.layers.0.*' --keep '" + std::string(kCodecKey) + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object c = config();
  const json::object& lm = c.at("models").at("language_model").as_object();
  const json::object* head = linear(lm, kHeadKey);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->at("action").as_string(), "kept");
  EXPECT_EQ(head->at("dtype").as_string(), "BF16");
  EXPECT_EQ(head->at("reason").as_string(), "--keep 'codebook0_head.*'");
  EXPECT_EQ(linear(lm, "decoder.layers.0.mlp.w2.weight")->at("action").as_string(), "kept");
  EXPECT_EQ(linear(lm, kQuantizedKey)->at("action").as_string(), "quantized");
  EXPECT_EQ(linear(c.at("models").at("codec").as_object(), kCodecKey)->at("action").as_string(), "kept");
  const std::set<std::string> keys = cache_keys(lm_cache());
  EXPECT_FALSE(keys.contains(std::string(kHeadKey)));
  EXPECT_FALSE(keys.contains("backbone.layers.0.mlp.w2.weight"));
  EXPECT_TRUE(keys.contains(std::string(kQuantizedKey)));
  EXPECT_FALSE(cache_keys(codec_cache()).contains(std::string(kCodecKey)));

  // A later fp8 load that names no patterns takes the cache's: a hit, the head at bf16, the rest fp8.
  CpuBackend backend;
  MulaLoadReport report;
  const auto model = MulaModel::load(backend, paths_.mula_dir, Precision::FP8, {}, &report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Hit) << report.cache.reason;
  const SafetensorsFile source = SafetensorsFile::open(paths_.mula_dir / "model.safetensors");
  const Tensor head_bf16 = source.get(std::string(kHeadKey)).to_bf16().to_f32();
  const Tensor& loaded_head = model->weights().codebook0_head.values;
  ASSERT_EQ(loaded_head.shape(), head_bf16.shape());
  EXPECT_EQ(std::memcmp(loaded_head.raw(), head_bf16.raw(), head_bf16.bytes()), 0);
  const QuantizedWeight q = quantize_e4m3_rows(source.get(std::string(kQuantizedKey)));
  const Tensor w2_fp8 = dequantize_e4m3_rows(q.values, q.scales);
  const Tensor& loaded_w2 = model->weights().backbone.layers.at(1).w2.values;
  ASSERT_EQ(loaded_w2.shape(), w2_fp8.shape());
  EXPECT_EQ(std::memcmp(loaded_w2.raw(), w2_fp8.raw(), w2_fp8.bytes()), 0);

  // Other patterns make the cache stale: an explicit empty list rebuilds it with every linear.
  MulaLoadReport rebuilt;
  MulaModel::load(backend, paths_.mula_dir, Precision::FP8, {.keep_bf16 = std::vector<std::string>{}}, &rebuilt);
  EXPECT_EQ(rebuilt.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_TRUE(rebuilt.cache.reason.starts_with("stale")) << rebuilt.cache.reason;
  EXPECT_TRUE(cache_keys(lm_cache()).contains(std::string(kHeadKey)));
}

TEST_F(CliQuantize, BadArgumentsAndUnreadableCheckpointsFailNamingWhatWasWrong) {
  const test::RunResult bf16 = quantize("--precision bf16");
  EXPECT_EQ(bf16.exit_code, 1);
  EXPECT_NE(bf16.err.find("--precision 'bf16'"), std::string::npos) << bf16.err;
  const test::RunResult unmatched = quantize("--keep 'no_such_linear*'");
  EXPECT_EQ(unmatched.exit_code, 1);
  EXPECT_NE(unmatched.err.find("--keep 'no_such_linear*' matches no linear"), std::string::npos) << unmatched.err;
  const test::RunResult empty = quantize("--keep ''");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("--keep ''"), std::string::npos) << empty.err;

  fs::resize_file(paths_.mula_dir / "model.safetensors", 100);
  const test::RunResult truncated = quantize("");
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.err.find("model.safetensors"), std::string::npos) << truncated.err;
  fs::remove_all(paths_.codec_dir);
  const test::RunResult missing = quantize("");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("HeartCodec-oss"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace hs
