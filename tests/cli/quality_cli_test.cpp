// `heartstream quality` end to end, through the built binary on a demo checkpoint (CPU: bf16 and
// fp8 weights emulated): the report's keys and units, a precision against itself measures exactly
// 0, fp8 costs more than bf16 (LM logits and codec audio) and bf16 more than nothing (codec), the layer
// groups come costliest first, the PNG decodes (libpng) at its stated size, and bad arguments
// fail with a message naming them. The report's checks share one run (ctest runs each TEST in its
// own process, and the run decodes four times), so they are one TEST of several parts.
#include <png.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "clients/cli/quality/quality_png.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "tests/support/cli_run.h"

namespace hs {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using test::RunResult;

constexpr int kCodebooks = 8;
constexpr std::int64_t kChunkFrames = 4;

class CliQuality : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hs_cli_quality_" + std::to_string(::getpid())));
    CpuBackend backend;
    write_demo_checkpoint(*dir_ / "demo", backend);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static RunResult quality(const std::string& args) {
    return test::run_shell("timeout 300 '" + std::string(HEARTSTREAM_BIN) + "' quality --model_path '" +
                               (*dir_ / "demo").string() + "' --version " + std::string(kDemoVersion) + " " + args,
                           *dir_ / "stderr", *dir_ / "stdout");
  }
  static fs::path* dir_;
};

fs::path* CliQuality::dir_ = nullptr;

// One report of the demo checkpoint, fp32 against itself, bf16 and fp8, and the checks on it.
class CliQualityReport : public CliQuality {
 protected:
  void SetUp() override {
    run_ = quality("--precisions fp32,bf16,fp8 --max_audio_length_ms 400 --layer_frames 2 --streaming --chunk_frames " +
                   std::to_string(kChunkFrames) + " --out '" + (*dir_ / "out").string() + "'");
    ASSERT_EQ(run_.exit_code, 0) << run_.err;
    std::ifstream in(*dir_ / "out" / "quality_report.json");
    std::stringstream text;
    text << in.rdbuf();
    report_ = json::parse(text.str()).as_object();
  }
  // The entry of `array` whose `key` is `value`.
  const json::object& row(std::string_view array, std::string_view key, std::string_view value) const {
    for (const json::value& v : report_.at(array).as_array())
      if (v.as_object().at(key).as_string() == value) return v.as_object();
    throw std::runtime_error(std::string(array) + " has no " + std::string(value));
  }
  static double number(const json::object& o, std::string_view key) { return o.at(key).to_number<double>(); }

  void expect_every_measure_with_its_unit() const;
  void expect_zero_against_itself() const;
  void expect_fp8_costs_more_than_bf16() const;
  void expect_layer_groups_costliest_first() const;
  void expect_png_of_its_size() const;

  RunResult run_;
  json::object report_;
};

void CliQualityReport::expect_every_measure_with_its_unit() const {
  EXPECT_EQ(report_.at("reference_precision").as_string(), "fp32");
  EXPECT_EQ(report_.at("kv_cache").as_string(), "auto");
  const std::int64_t frames = report_.at("frames").as_int64();
  ASSERT_GT(frames, 0);
  EXPECT_EQ(report_.at("audio_ms").as_int64(), frames * 80);
  ASSERT_EQ(report_.at("lm").as_array().size(), 3u);
  for (const json::value& v : report_.at("lm").as_array()) {
    const json::object& p = v.as_object();
    for (const char* key : {"logit_error", "kl_nats_mean", "kl_nats_max", "top1_agreement", "topk_agreement"})
      EXPECT_TRUE(p.at(key).is_number()) << key;
    EXPECT_EQ(p.at("codebooks").as_array().size(), static_cast<std::size_t>(kCodebooks));
    EXPECT_EQ(p.at("frame_kl_nats").as_array().size(), static_cast<std::size_t>(frames));
  }
  ASSERT_EQ(report_.at("codec").as_array().size(), 3u);
  for (const json::value& v : report_.at("codec").as_array())
    for (const char* key : {"snr_db", "relative_l2", "log_mel_distance_db"}) EXPECT_TRUE(v.as_object().contains(key)) << key;
  ASSERT_EQ(report_.at("streaming").as_array().size(), 1u);
  const json::object& s = report_.at("streaming").as_array()[0].as_object();
  EXPECT_EQ(s.at("chunk_frames").as_int64(), kChunkFrames);
  EXPECT_TRUE(s.at("snr_db").is_number());
  EXPECT_GT(number(s, "log_mel_distance_db"), 0.0);
  EXPECT_EQ(report_.at("image").as_string(), "quality_report.png");
  EXPECT_NE(run_.out.find("costliest linear groups at fp8"), std::string::npos) << run_.out;
  EXPECT_NE(run_.out.find("codec audio against fp32"), std::string::npos) << run_.out;
}

void CliQualityReport::expect_zero_against_itself() const {
  const json::object& lm = row("lm", "precision", "fp32");
  EXPECT_EQ(number(lm, "logit_error"), 0.0);
  EXPECT_EQ(number(lm, "kl_nats_max"), 0.0);
  EXPECT_EQ(number(lm, "top1_agreement"), 1.0);
  EXPECT_EQ(number(lm, "topk_agreement"), 1.0);
  const json::object& codec = row("codec", "precision", "fp32");
  EXPECT_EQ(number(codec, "relative_l2"), 0.0);
  EXPECT_EQ(number(codec, "log_mel_distance_db"), 0.0);
  EXPECT_TRUE(codec.at("snr_db").is_null());  // infinite
}

void CliQualityReport::expect_fp8_costs_more_than_bf16() const {
  const json::object &bf16 = row("lm", "precision", "bf16"), &fp8 = row("lm", "precision", "fp8");
  // The demo LM's weights are stored in bf16 (as HeartMuLa's are): on the CPU, which narrows only
  // the weights, its bf16 is the fp32 run exactly. Its codec's weights are fp32.
  EXPECT_EQ(number(bf16, "logit_error"), 0.0);
  EXPECT_GT(number(fp8, "logit_error"), number(bf16, "logit_error"));
  EXPECT_GT(number(fp8, "kl_nats_mean"), number(bf16, "kl_nats_mean"));
  const json::object &cbf16 = row("codec", "precision", "bf16"), &cfp8 = row("codec", "precision", "fp8");
  EXPECT_GT(number(cbf16, "relative_l2"), 0.0);
  EXPECT_GT(number(cfp8, "relative_l2"), number(cbf16, "relative_l2"));
  EXPECT_LT(number(cfp8, "snr_db"), number(cbf16, "snr_db"));
}

void CliQualityReport::expect_layer_groups_costliest_first() const {
  const json::object& layers = report_.at("layers").as_object();
  EXPECT_EQ(layers.at("precision").as_string(), "fp8");
  const json::array& groups = layers.at("groups").as_array();
  ASSERT_GT(groups.size(), 4u);  // at least attention and MLP of one layer and the heads
  EXPECT_GT(number(groups[0].as_object(), "logit_error"), 0.0);
  for (std::size_t i = 1; i < groups.size(); ++i)
    EXPECT_GE(number(groups[i - 1].as_object(), "logit_error"), number(groups[i].as_object(), "logit_error"));
  bool backbone_attention = false;
  for (const json::value& g : groups) {
    const std::string group(g.as_object().at("group").as_string());
    EXPECT_EQ(g.as_object().at("keep_pattern").as_string(), group + ".*");
    backbone_attention |= group == "backbone.layers.0.attn";
  }
  EXPECT_TRUE(backbone_attention);
}

void CliQualityReport::expect_png_of_its_size() const {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  const std::string path = (*dir_ / "out" / "quality_report.png").string();
  ASSERT_TRUE(png_image_begin_read_from_file(&image, path.c_str())) << image.message;
  EXPECT_EQ(image.width, static_cast<png_uint_32>(cli::kQualityPngWidth));
  EXPECT_EQ(image.height, static_cast<png_uint_32>(cli::kQualityPngHeight));
  image.format = PNG_FORMAT_RGB;
  std::vector<png_byte> rgb(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr)) << image.message;
  // Each panel's centre is painted (not the white background).
  const int y = cli::kQualityMargin + cli::kQualityPanelHeight / 2;
  for (const int x : {cli::kQualityMargin + cli::kQualityPanelWidth / 2,
                      2 * cli::kQualityMargin + cli::kQualityPanelWidth * 3 / 2}) {
    const png_byte* p = &rgb[(static_cast<std::size_t>(y) * image.width + x) * 3];
    EXPECT_FALSE(p[0] == 255 && p[1] == 255 && p[2] == 255) << "x " << x;
  }
}

TEST_F(CliQualityReport, MeasuresEachPrecisionAgainstTheReference) {
  expect_every_measure_with_its_unit();
  expect_zero_against_itself();
  expect_fp8_costs_more_than_bf16();
  expect_layer_groups_costliest_first();
  expect_png_of_its_size();
}

TEST_F(CliQuality, BadArgumentsAreNamed) {
  const RunResult precision = quality("--precisions bf16,fp4 --out '" + (*dir_ / "bad").string() + "'");
  EXPECT_NE(precision.exit_code, 0);
  EXPECT_NE(precision.err.find("--precisions 'fp4' is not one of fp32, bf16, fp8"), std::string::npos) << precision.err;
  const RunResult chunk = quality("--streaming --chunk_frames 0 --out '" + (*dir_ / "bad").string() + "'");
  EXPECT_NE(chunk.exit_code, 0);
  EXPECT_NE(chunk.err.find("--chunk_frames 0"), std::string::npos) << chunk.err;
  const RunResult kv = quality("--kv_cache fp16 --out '" + (*dir_ / "bad").string() + "'");
  EXPECT_NE(kv.exit_code, 0);
  EXPECT_NE(kv.err.find(R"(--kv_cache: expected auto or fp8, got "fp16")"), std::string::npos) << kv.err;
}

TEST_F(CliQuality, UnreadableCheckpointIsNamed) {
  const fs::path broken = *dir_ / "broken";
  fs::create_directories(broken);
  for (const auto& entry : fs::directory_iterator(*dir_ / "demo"))
    fs::create_directory_symlink(entry.path(), broken / entry.path().filename());
  fs::remove(broken / "HeartMuLa-oss-demo");
  fs::create_directories(broken / "HeartMuLa-oss-demo");
  fs::copy_file(*dir_ / "demo" / "HeartMuLa-oss-demo" / "config.json", broken / "HeartMuLa-oss-demo" / "config.json");
  std::ofstream(broken / "HeartMuLa-oss-demo" / "model.safetensors") << "not a safetensors file";
  const RunResult r = test::run_shell("timeout 60 '" + std::string(HEARTSTREAM_BIN) + "' quality --model_path '" +
                                          broken.string() + "' --version demo --out '" + (*dir_ / "bad").string() + "'",
                                      *dir_ / "stderr");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Segmentation"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hs
