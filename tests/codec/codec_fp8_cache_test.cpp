// HeartCodec through the fp8 weight cache (engine/model/common/fp8_cached_linears.h) on the CPU
// backend (fp8 simulated: values · scales), with a copy of the demo checkpoint's codec folder per
// test: the first fp8 load writes HeartCodec-oss/heartstream-fp8-cache.safetensors holding every
// linear (DiT and RVQ projections; no conv, no bias) quantized, the second maps it and gives the
// weights and audio of a fresh quantization bit for bit; a touched source makes it stale, a
// read-only folder loads without it, and the option, the environment or another precision switch
// it off.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/core/fp8_quantize.h"
#include "engine/core/noise.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/fp8_weight_cache.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "engine/model/codec/codec_tensor_shapes.h"
#include "engine/model/common/fp8_cached_linears.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "tests/support/as_nobody.h"
#include "tests/support/demo_folder_copy.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
using test::same_bytes;

constexpr std::string_view kSourceFile = "model.safetensors";
constexpr std::int64_t kCodeFrames = 4;  // short: the audio only has to show the weights agree
constexpr std::uint64_t kNoiseSeed = 5;

// Passes every linear on to `inner` and keeps its name and the weight made.
class RecordingLinears final : public LinearLoader {
 public:
  explicit RecordingLinears(LinearLoader& inner) : inner_(inner) {}
  Weight load(const std::string& key, const Shape& shape, const std::function<Tensor()>& weight,
              const Tensor* bias) override {
    seen.emplace_back(key, inner_.load(key, shape, weight, bias));
    return seen.back().second;
  }
  Precision precision() const override { return inner_.precision(); }

  std::vector<std::pair<std::string, Weight>> seen;

 private:
  LinearLoader& inner_;
};

// fp8 rows are read in whole 16-byte vectors: a linear with fewer (or not a multiple of 16) input
// features stays bf16 and is not cached (the demo codec's 8-wide RVQ projection).
constexpr std::int64_t kFp8RowBytes = 16;

// The linears of a codec that an fp8 load quantizes: its 2-D ".weight" tensors (convs are 3-D,
// norms 1-D, and the modulation tables are not named ".weight") whose rows fill 16-byte vectors.
std::set<std::string> linear_names(const CodecConfig& config) {
  std::set<std::string> out;
  for (const auto& [name, shape] : codec_tensor_shapes(config))
    if (shape.size() == 2 && name.ends_with(".weight") && shape[1] % kFp8RowBytes == 0) out.insert(name);
  return out;
}

struct Decoded {
  Tensor latents;  // flow matching's output: every linear of the codec acts on it
  Tensor audio;
};

class CodecFp8Cache : public test::DemoFolderCopy<&CheckpointPaths::codec_dir> {
 protected:

  CodecModel load(CodecLoadReport* report = nullptr, CodecLoadOptions options = {}) const {
    return CodecModel::load(backend_, dir_, Precision::FP8, options, report);
  }
  CodecModel load_fresh() const { return load(nullptr, {.weight_cache = false}); }
  fs::path cache() const { return dir_ / kFp8CacheFileName; }
  CodecConfig config() const { return read_codec_config(dir_ / "config.json"); }

  // Fixed codes through flow matching (fixed noise) and the scalar decoder.
  static Decoded decode(const CodecModel& codec) {
    const CodecConfig& c = codec.config();
    Tensor codes = Tensor::zeros({c.num_quantizers, kCodeFrames}, DType::I32);
    for (std::int64_t i = 0; i < codes.numel(); ++i)
      codes.data<std::int32_t>()[i] = static_cast<std::int32_t>((i * 977 + 13) % c.codebook_size);
    GaussianNoise noise(kNoiseSeed);
    const Tensor latents = codec.flow().sample(codec.flow().condition(codes), Tensor(), noise);
    const Tensor audio = codec.decoder().decode(codec.decoder().split_channels(latents));
    return {backend_.download(latents), backend_.download(audio)};
  }
  static void expect_same_output(const CodecModel& a, const CodecModel& b) {
    const Decoded da = decode(a), db = decode(b);
    EXPECT_TRUE(same_bytes(da.latents, db.latents));
    EXPECT_TRUE(same_bytes(da.audio, db.audio));
  }

};

TEST_F(CodecFp8Cache, FirstLoadWritesTheCacheAndTheSecondMapsIt) {
  const auto n = static_cast<std::int64_t>(linear_names(config()).size());
  CodecLoadReport first;
  const CodecModel fresh = load(&first);
  EXPECT_EQ(first.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_EQ(first.cache.reason, "absent");
  EXPECT_EQ(first.cache.linears_quantized, n);
  EXPECT_EQ(first.cache.linears_from_cache, 0);
  EXPECT_EQ(first.cache.path, cache());
  ASSERT_TRUE(fs::is_regular_file(cache()));
  EXPECT_EQ(first.cache.file_bytes, fs::file_size(cache()));
  EXPECT_GT(first.load_s, 0.0);
  const auto written_at = fs::last_write_time(cache());

  CodecLoadReport second;
  const CodecModel cached = load(&second);
  EXPECT_EQ(second.cache.outcome, WeightCacheOutcome::Hit);
  EXPECT_EQ(second.cache.reason, "");
  EXPECT_EQ(second.cache.linears_from_cache, n);
  EXPECT_EQ(second.cache.linears_quantized, 0);
  EXPECT_EQ(second.cache.file_bytes, first.cache.file_bytes);
  EXPECT_EQ(fs::last_write_time(cache()), written_at) << "a hit must not rewrite the cache";
  expect_same_output(fresh, cached);
  expect_same_output(load_fresh(), cached);

  // The codec's tensor store never counts the cache among its files.
  EXPECT_EQ(TensorStore::open(dir_).files(), std::vector<fs::path>{dir_ / kSourceFile});
}

TEST_F(CodecFp8Cache, HoldsEveryLinearQuantizedAndIdentifiesItsSource) {
  load();
  const SafetensorsFile file = SafetensorsFile::open(cache());
  const auto& meta = file.metadata();
  EXPECT_EQ(meta.at("heartstream_fp8_cache"), kFp8CacheFormatVersion);
  EXPECT_EQ(meta.at("quantization"), kFp8CacheScheme);
  const std::string identity = meta.at("source:" + std::string(kSourceFile));
  EXPECT_EQ(identity.rfind("bytes=" + std::to_string(fs::file_size(dir_ / kSourceFile)) + " mtime_ns=", 0), 0u)
      << identity;
  EXPECT_EQ(meta.size(), 3u);

  // Exactly the linears (keyed by their weight tensors: no bias, no conv), each the source's
  // tensor quantized.
  std::set<std::string> keys;
  for (const TensorInfo& info : file.tensors())
    if (!info.name.ends_with(kFp8CacheScalesSuffix)) keys.insert(info.name);
  const std::set<std::string> want = linear_names(config());
  EXPECT_EQ(keys, want);
  EXPECT_FALSE(want.contains("flow_matching.vq_embed.project_out.weight"));  // 8 inputs: bf16
  EXPECT_TRUE(want.contains("flow_matching.cond_feature_emb.weight"));
  EXPECT_TRUE(want.contains("flow_matching.estimator.transformer_blocks_2.0.mlp.down.weight"));
  const SafetensorsFile source = SafetensorsFile::open(dir_ / kSourceFile);
  for (const std::string& key : want) {
    const QuantizedWeight q = quantize_e4m3_rows(source.get(key));
    EXPECT_TRUE(same_bytes(file.get(key), q.values)) << key;
    EXPECT_TRUE(same_bytes(file.get(key + std::string(kFp8CacheScalesSuffix)), q.scales)) << key;
  }
}

TEST_F(CodecFp8Cache, WeightsFromTheCacheEqualAFreshQuantization) {
  load();
  const CodecConfig c = config();
  const TensorStore store = TensorStore::open(dir_);
  const NamedTensors tensors = named_tensors(store);

  Fp8CachedLinears from_cache(backend_, cache(), store.files());
  RecordingLinears cached(from_cache);
  const CodecModel from_cache_model(backend_, tensors, c, Precision::FP8, cached);
  EXPECT_EQ(from_cache.finish().outcome, WeightCacheOutcome::Hit);

  PrecisionLinears quantize(backend_, Precision::FP8);
  RecordingLinears fresh(quantize);
  const CodecModel fresh_model(backend_, tensors, c, Precision::FP8, fresh);

  ASSERT_EQ(cached.seen.size(), fresh.seen.size());
  ASSERT_EQ(cached.seen.size(), linear_names(c).size());
  for (std::size_t i = 0; i < fresh.seen.size(); ++i) {
    const auto& [key, want] = fresh.seen[i];
    EXPECT_EQ(cached.seen[i].first, key);
    EXPECT_TRUE(same_bytes(cached.seen[i].second.values, want.values)) << key;
    EXPECT_TRUE(same_bytes(cached.seen[i].second.bias, want.bias)) << key;
    if (want.bias.defined()) {
      EXPECT_EQ(want.bias.dtype(), DType::F32) << key;
    }
  }
}

TEST_F(CodecFp8Cache, AValueChangedInsideTheCacheIsWhatLoads) {
  load();
  const std::string key = "flow_matching.cond_feature_emb.weight";
  const std::uint8_t old_code = SafetensorsFile::open(cache()).get(key).data<std::uint8_t>()[0];
  const std::uint8_t new_code = (old_code & 0x80) | ((old_code & 0x7f) == 0x30 ? 0x31 : 0x30);
  test::overwrite_byte(cache(), test::data_offset(cache(), key), new_code);
  CodecLoadReport report;
  const CodecModel model = load(&report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Hit);
  EXPECT_FALSE(same_bytes(decode(model).latents, decode(load_fresh()).latents));
}

TEST_F(CodecFp8Cache, ATouchedSourceMakesTheCacheStale) {
  load();
  const fs::path source = dir_ / kSourceFile;
  fs::last_write_time(source, fs::last_write_time(source) + std::chrono::seconds(1));
  CodecLoadReport report;
  const CodecModel model = load(&report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_EQ(report.cache.reason.rfind("stale: 'source:model.safetensors'", 0), 0u) << report.cache.reason;
  CodecLoadReport again;
  expect_same_output(load(&again), model);
  EXPECT_EQ(again.cache.outcome, WeightCacheOutcome::Hit);
}

TEST_F(CodecFp8Cache, AReadOnlyFolderLoadsWithoutACache) {
  if (::geteuid() == 0) {  // root writes anywhere: the same test runs again as nobody
    test::rerun_as_nobody();
    return;
  }
  fs::permissions(dir_, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  ASSERT_NE(::access(dir_.c_str(), W_OK), 0) << dir_ << " is still writable";
  ::testing::internal::CaptureStderr();
  CodecLoadReport report;
  const CodecModel model = load(&report);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::NotWritten);
  EXPECT_NE(report.cache.write_error.find("is not writable"), std::string::npos) << report.cache.write_error;
  EXPECT_EQ(report.cache.file_bytes, 0u);
  EXPECT_FALSE(fs::exists(cache()));
  EXPECT_NE(err.find("warning: fp8 weight cache"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  expect_same_output(model, load_fresh());
}

TEST_F(CodecFp8Cache, SwitchedOffByTheOptionTheEnvironmentOrAnotherPrecision) {
  CodecLoadReport report;
  load(&report, {.weight_cache = false});
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Off);
  EXPECT_FALSE(fs::exists(cache()));

  ::setenv(kWeightCacheEnvVar.data(), "0", 1);
  load(&report);
  ::unsetenv(kWeightCacheEnvVar.data());
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Off);
  EXPECT_FALSE(fs::exists(cache()));

  for (const Precision p : {Precision::F32, Precision::BF16}) {
    CodecModel::load(backend_, dir_, p, {}, &report);
    EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Off);
    EXPECT_FALSE(fs::exists(cache()));
  }
}

}  // namespace
}  // namespace hs
