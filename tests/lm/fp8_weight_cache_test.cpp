// The fp8 weight cache (engine/io/fp8_weight_cache.h, engine/model/common/fp8_cached_linears.h) on the
// CPU backend (fp8 simulated) with a copy of the demo checkpoint per test: the first fp8 load writes
// the cache, the second maps it (a value changed inside the cache shows up in the model), the
// weights equal a fresh quantization bit for bit, and a stale, truncated, garbage or incomplete
// cache is rebuilt, while a folder or path that cannot be written leaves the model loading without
// a cache.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/core/fp8_quantize.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/fp8_weight_cache.h"
#include "engine/io/safetensors.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/lm/mula_model.h"
#include "tests/support/as_nobody.h"
#include "tests/support/demo_folder_copy.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
using test::same_bytes;

constexpr std::string_view kEnvSwitch = "HEARTSTREAM_WEIGHT_CACHE";
constexpr std::string_view kSourceFile = "model.safetensors";

// Every linear of a model in binding order.
std::vector<const Weight*> all_linears(const MulaWeights& w) {
  std::vector<const Weight*> out;
  for (const StackWeights* s : {&w.backbone, &w.decoder})
    for (const LayerWeights& l : s->layers)
      for (const Weight* x : {&l.qkv_proj, &l.output_proj, &l.w13, &l.w2}) out.push_back(x);
  out.push_back(&w.projection);
  out.push_back(&w.codebook0_head);
  for (const Weight& h : w.audio_heads) out.push_back(&h);
  out.push_back(&w.muq_linear);
  return out;
}

void expect_same_linears(const MulaModel& a, const MulaModel& b) {
  const auto la = all_linears(a.weights()), lb = all_linears(b.weights());
  ASSERT_EQ(la.size(), lb.size());
  for (std::size_t i = 0; i < la.size(); ++i) {
    EXPECT_TRUE(same_bytes(la[i]->values, lb[i]->values)) << "linear " << i;
    EXPECT_TRUE(same_bytes(la[i]->bias, lb[i]->bias)) << "linear " << i;
  }
}

class Fp8CacheLoad : public test::DemoFolderCopy<&CheckpointPaths::mula_dir> {
 protected:

  std::shared_ptr<const MulaModel> load(MulaLoadReport* report = nullptr, MulaLoadOptions options = {}) const {
    return MulaModel::load(backend_, dir_, Precision::FP8, options, report);
  }
  std::shared_ptr<const MulaModel> load_fresh() const { return load(nullptr, {.weight_cache = false}); }
  fs::path cache() const { return dir_ / kFp8CacheFileName; }
  // Every linear of the demo model: 4 per layer of both stacks, projection, codebook-0 head, 7
  // audio heads, muq_linear.
  static std::int64_t linear_count(const MulaModel& m) { return static_cast<std::int64_t>(all_linears(m.weights()).size()); }

};

TEST_F(Fp8CacheLoad, FirstLoadWritesTheCacheAndTheSecondMapsIt) {
  MulaLoadReport first;
  const auto fresh = load(&first);
  const std::int64_t n = linear_count(*fresh);
  EXPECT_EQ(n, 2 * 2 * 4 + 2 + 7 + 1);
  EXPECT_EQ(first.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_EQ(first.cache.reason, "absent");
  EXPECT_EQ(first.cache.linears_quantized, n);
  EXPECT_EQ(first.cache.linears_from_cache, 0);
  EXPECT_EQ(first.cache.path, cache());
  ASSERT_TRUE(fs::is_regular_file(cache()));
  EXPECT_EQ(first.cache.file_bytes, fs::file_size(cache()));
  EXPECT_GT(first.load_s, 0.0);
  const auto written_at = fs::last_write_time(cache());

  MulaLoadReport second;
  const auto cached = load(&second);
  EXPECT_EQ(second.cache.outcome, WeightCacheOutcome::Hit);
  EXPECT_EQ(second.cache.reason, "");
  EXPECT_EQ(second.cache.linears_from_cache, n);
  EXPECT_EQ(second.cache.linears_quantized, 0);
  EXPECT_EQ(second.cache.quantize_s, 0.0);
  EXPECT_EQ(second.cache.write_s, 0.0);
  EXPECT_EQ(second.cache.file_bytes, first.cache.file_bytes);
  EXPECT_EQ(fs::last_write_time(cache()), written_at) << "a hit must not rewrite the cache";
  expect_same_linears(*fresh, *cached);
  expect_same_linears(*load_fresh(), *cached);

  // The checkpoint's tensor store never counts the cache among its files.
  EXPECT_EQ(TensorStore::open(dir_).files(), std::vector<fs::path>{dir_ / kSourceFile});
}

// 4-bit loads keep their own cache beside the fp8 one: the first NF4 / INT4 load writes its file,
// the second maps it and holds the weights of a fresh 4-bit load bit for bit, linears that are not
// whole 64-value blocks load at bf16 and stay out of the file, and an NF4 file in INT4's place is
// stale. No cache is a source: the fp8 cache written first is still a hit at the end.
TEST_F(Fp8CacheLoad, FourBitLoadsKeepTheirOwnCacheBesideTheFp8One) {
  MulaLoadReport fp8;
  load(&fp8);
  ASSERT_EQ(fp8.cache.outcome, WeightCacheOutcome::Written);
  for (const Precision precision : {Precision::NF4, Precision::INT4}) {
    const fs::path path = dir_ / weight_cache_file_name(q4_format(precision));
    if (precision == Precision::INT4) fs::copy_file(dir_ / weight_cache_file_name(Q4Format::NF4), path);
    MulaLoadReport first, second;
    const auto written = MulaModel::load(backend_, dir_, precision, {}, &first);
    EXPECT_EQ(first.cache.outcome, WeightCacheOutcome::Written) << path;
    EXPECT_EQ(first.cache.reason, precision == Precision::NF4 ? "absent"
                                                              : "stale: 'quantization' is 'nf4-bf16-table-absmax-block-64', "
                                                                "expected 'int4-symmetric-absmax-block-64'");
    EXPECT_EQ(first.cache.path, path);
    const auto cached = MulaModel::load(backend_, dir_, precision, {}, &second);
    EXPECT_EQ(second.cache.outcome, WeightCacheOutcome::Hit) << path;
    std::int64_t codes = 0;
    const SafetensorsFile file = SafetensorsFile::open(path);
    for (const LinearRecord& l : second.cache.linears) {
      const bool blocks = l.shape[1] % kQ4Block == 0;
      codes += blocks;
      EXPECT_EQ(l.dtype, blocks ? DType::U8 : DType::BF16) << l.key;
      EXPECT_EQ(l.kept_because.empty(), blocks) << l.key;
      EXPECT_EQ(file.contains(l.key), blocks) << l.key;
      if (blocks) {
        EXPECT_EQ(file.info(l.key).shape, (Shape{l.shape[0], l.shape[1] / 2})) << l.key;
      }
    }
    EXPECT_GT(codes, 0);
    EXPECT_EQ(second.cache.linears_from_cache, codes);
    expect_same_linears(*written, *cached);
    expect_same_linears(*MulaModel::load(backend_, dir_, precision, {.weight_cache = false}), *cached);
  }
  MulaLoadReport again;
  load(&again);
  EXPECT_EQ(again.cache.outcome, WeightCacheOutcome::Hit);
  EXPECT_EQ(TensorStore::open(dir_).files(), std::vector<fs::path>{dir_ / kSourceFile});
}

TEST_F(Fp8CacheLoad, HoldsTheQuantizedStacksAndIdentifiesItsSource) {
  load();
  const SafetensorsFile file = SafetensorsFile::open(cache());
  const auto& meta = file.metadata();
  EXPECT_EQ(meta.at("heartstream_fp8_cache"), kFp8CacheFormatVersion);
  EXPECT_EQ(meta.at("quantization"), "e4m3-per-output-channel");
  const std::string identity = meta.at("source:" + std::string(kSourceFile));
  EXPECT_EQ(identity.rfind("bytes=" + std::to_string(fs::file_size(dir_ / kSourceFile)) + " mtime_ns=", 0), 0u)
      << identity;
  EXPECT_EQ(meta.size(), 3u);

  // The q/k/v stack of backbone layer 1 is the three source tensors stacked by rows, quantized.
  const SafetensorsFile source = SafetensorsFile::open(dir_ / kSourceFile);
  std::vector<Tensor> parts;
  std::int64_t rows = 0;
  for (const char* p : {"q_proj", "k_proj", "v_proj"}) {
    parts.push_back(source.get("backbone.layers.1.attn." + std::string(p) + ".weight"));
    rows += parts.back().dim(0);
  }
  Tensor stacked = Tensor::zeros({rows, parts[0].dim(1)}, parts[0].dtype());
  std::size_t offset = 0;
  for (const Tensor& part : parts) {
    std::memcpy(static_cast<char*>(stacked.raw()) + offset, part.raw(), part.bytes());
    offset += part.bytes();
  }
  const QuantizedWeight want = quantize_e4m3_rows(stacked);
  EXPECT_TRUE(same_bytes(file.get("backbone.layers.1.attn.qkv_proj.weight"), want.values));
  EXPECT_TRUE(same_bytes(file.get("backbone.layers.1.attn.qkv_proj.weight.scales"), want.scales));
  for (const char* key : {"decoder.layers.0.mlp.w13.weight", "audio_head.6.weight", "muq_linear.weight"}) {
    EXPECT_EQ(file.info(key).dtype, DType::F8_E4M3) << key;
    EXPECT_EQ(file.info(key + std::string(".scales")).dtype, DType::F32) << key;
  }
}

TEST_F(Fp8CacheLoad, AValueChangedInsideTheCacheIsWhatLoads) {
  load();
  const SafetensorsFile file = SafetensorsFile::open(cache());
  const std::uint8_t old_code = file.get("projection.weight").data<std::uint8_t>()[0];
  const float scale = file.get("projection.weight.scales").data<float>()[0];
  const std::uint8_t new_code = (old_code & 0x80) | ((old_code & 0x7f) == 0x30 ? 0x31 : 0x30);
  test::overwrite_byte(cache(), test::data_offset(cache(), "projection.weight"), new_code);

  MulaLoadReport report;
  const auto model = load(&report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Hit);
  EXPECT_EQ(model->weights().projection.values.data<float>()[0], e4m3_to_f32(new_code) * scale);
  EXPECT_NE(model->weights().projection.values.data<float>()[0], load_fresh()->weights().projection.values.data<float>()[0]);
}

TEST_F(Fp8CacheLoad, ATouchedSourceMakesTheCacheStale) {
  load();
  const fs::path source = dir_ / kSourceFile;
  fs::last_write_time(source, fs::last_write_time(source) + std::chrono::seconds(1));
  MulaLoadReport report;
  load(&report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_EQ(report.cache.reason.rfind("stale: 'source:model.safetensors'", 0), 0u) << report.cache.reason;
  MulaLoadReport again;
  load(&again);
  EXPECT_EQ(again.cache.outcome, WeightCacheOutcome::Hit);
}

TEST_F(Fp8CacheLoad, ARewrittenSourceRebuildsTheCacheFromTheNewWeights) {
  const auto old_model = load();
  // Same size, other content (and so a new mtime): one bf16 value of the projection weight.
  const fs::path source = dir_ / kSourceFile;
  const std::uint64_t offset = test::data_offset(source, "projection.weight");
  test::overwrite_byte(source, offset + 1, 0x40);  // high byte of element 0: a value near ±2..4
  MulaLoadReport report;
  const auto model = load(&report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_EQ(report.cache.reason.rfind("stale: ", 0), 0u) << report.cache.reason;
  expect_same_linears(*model, *load_fresh());
  EXPECT_FALSE(same_bytes(model->weights().projection.values, old_model->weights().projection.values));
}

TEST_F(Fp8CacheLoad, TruncatedOrGarbageCachesAreRebuiltWithAWarning) {
  load();
  const auto fresh = load_fresh();
  for (const char* damage : {"truncated", "garbage"}) {
    if (std::string(damage) == "truncated") {
      fs::resize_file(cache(), fs::file_size(cache()) / 2);
    } else {
      std::ofstream(cache(), std::ios::binary | std::ios::trunc) << "this is not a safetensors file";
    }
    ::testing::internal::CaptureStderr();
    MulaLoadReport report;
    const auto model = load(&report);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Written) << damage;
    EXPECT_EQ(report.cache.reason.rfind("unreadable: ", 0), 0u) << report.cache.reason;
    EXPECT_NE(err.find("warning: fp8 weight cache '" + cache().string() + "': unreadable"), std::string::npos) << err;
    EXPECT_NE(err.find("; rebuilt"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    expect_same_linears(*model, *fresh);
    MulaLoadReport again;
    load(&again);
    EXPECT_EQ(again.cache.outcome, WeightCacheOutcome::Hit) << damage;
  }
}

TEST_F(Fp8CacheLoad, AnIncompleteCacheIsCompleted) {
  const auto fresh = load();
  const std::int64_t n = linear_count(*fresh);
  {  // rewrite the cache without the projection, keeping its metadata
    const SafetensorsFile file = SafetensorsFile::open(cache());
    std::vector<std::pair<std::string, QuantizedWeight>> entries;
    for (const TensorInfo& info : file.tensors())
      if (!info.name.ends_with(".scales") && info.name != "projection.weight")
        entries.emplace_back(info.name, QuantizedWeight{file.get(info.name).clone(), file.get(info.name + ".scales").clone()});
    const CacheMetadata metadata = file.metadata();
    write_fp8_cache(cache(), metadata, entries);
  }
  MulaLoadReport report;
  const auto model = load(&report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Written);
  EXPECT_EQ(report.cache.reason, "incomplete: no valid entry 'projection.weight'");
  EXPECT_EQ(report.cache.linears_from_cache, n - 1);
  EXPECT_EQ(report.cache.linears_quantized, 1);
  expect_same_linears(*model, *fresh);
  MulaLoadReport again;
  load(&again);
  EXPECT_EQ(again.cache.outcome, WeightCacheOutcome::Hit);
}

TEST_F(Fp8CacheLoad, AReadOnlyFolderLoadsWithoutACache) {
  if (::geteuid() == 0) {  // root writes anywhere: the same test runs again as nobody
    test::rerun_as_nobody();
    return;
  }
  fs::permissions(dir_, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  ASSERT_NE(::access(dir_.c_str(), W_OK), 0) << dir_ << " is still writable";
  ::testing::internal::CaptureStderr();
  MulaLoadReport report;
  const auto model = load(&report);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::NotWritten);
  EXPECT_NE(report.cache.write_error.find("is not writable"), std::string::npos) << report.cache.write_error;
  EXPECT_EQ(report.cache.file_bytes, 0u);
  EXPECT_FALSE(fs::exists(cache()));
  EXPECT_NE(err.find("warning: fp8 weight cache"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  expect_same_linears(*model, *load_fresh());
}

TEST_F(Fp8CacheLoad, ACachePathThatCannotBeWrittenLoadsWithoutACache) {
  // A folder where the cache file belongs: unreadable, and the rename onto it fails even for root.
  fs::create_directory(cache());
  std::ofstream(cache() / "keep") << "x";
  ::testing::internal::CaptureStderr();
  MulaLoadReport report;
  const auto model = load(&report);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::NotWritten);
  EXPECT_EQ(report.cache.reason.rfind("unreadable: ", 0), 0u) << report.cache.reason;
  EXPECT_NE(report.cache.write_error.find("cannot rename"), std::string::npos) << report.cache.write_error;
  EXPECT_NE(err.find("not written"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  expect_same_linears(*model, *load_fresh());
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir_)) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"config.json", std::string(kFp8CacheFileName), std::string(kSourceFile)}))
      << "no temporary file is left behind";
}

TEST_F(Fp8CacheLoad, SwitchedOffByTheOptionTheEnvironmentOrAnotherPrecision) {
  MulaLoadReport report;
  load(&report, {.weight_cache = false});
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Off);
  EXPECT_FALSE(fs::exists(cache()));

  ::setenv(kEnvSwitch.data(), "0", 1);
  load(&report);
  ::unsetenv(kEnvSwitch.data());
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Off);
  EXPECT_FALSE(fs::exists(cache()));

  MulaModel::load(backend_, dir_, Precision::F32, {}, &report);
  EXPECT_EQ(report.cache.outcome, WeightCacheOutcome::Off);
  EXPECT_FALSE(fs::exists(cache()));
}

TEST(Fp8WeightCacheMetadata, NamesEachSourceWithItsSizeAndMtime) {
  const fs::path dir = fs::temp_directory_path() / ("hs_fp8_meta_" + std::to_string(::getpid()));
  fs::create_directories(dir / "shards");
  std::ofstream(dir / "shards" / "a.safetensors") << "abc";
  const CacheMetadata before = fp8_cache_metadata(dir, {dir / "shards" / "a.safetensors"});
  const std::string identity = before.at("source:shards/a.safetensors");
  EXPECT_EQ(identity.rfind("bytes=3 mtime_ns=", 0), 0u) << identity;
  std::ofstream(dir / "shards" / "a.safetensors", std::ios::app) << "d";
  fs::last_write_time(dir / "shards" / "a.safetensors", fs::last_write_time(dir / "shards" / "a.safetensors"));
  EXPECT_NE(fp8_cache_metadata(dir, {dir / "shards" / "a.safetensors"}), before);
  EXPECT_THROW(fp8_cache_metadata(dir, {dir / "missing.safetensors"}), FormatError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hs
