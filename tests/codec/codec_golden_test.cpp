// The codec's estimator and scalar decoder against the reference's golden outputs
// (golden/README.md: max |a − b| / max |b| ≤ 1e-4), and loading either weight-norm convention.
#include <gtest/gtest.h>

#include <string>

#include "engine/core/error.h"
#include "engine/io/config.h"
#include "engine/io/safetensors.h"
#include "engine/model/codec/codec_model.h"
#include "tests/codec/codec_test_util.h"
#include "tests/support/shared_data.h"

namespace hs {
namespace {

using test::max_error;

constexpr double kGoldenTolerance = 1e-4;

TEST(CodecGolden, EstimatorMatchesReference) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  HS_REQUIRE_SHARED(case_path, "golden/codec_estimator.safetensors");
  const CodecModel& model = test::tiny_codec(folder);
  Backend& be = model.backend();
  const auto golden = SafetensorsFile::open(case_path);
  const Tensor x = be.upload(golden.get("x")), t = be.upload(golden.get("t"));
  const Estimator& estimator = model.flow().estimator();
  auto scratch = estimator.make_scratch(x.dim(0), x.dim(1));
  Tensor out = be.alloc({x.dim(0), x.dim(1), estimator.out_channels()}, DType::F32);
  estimator.forward(x, t, *scratch, out);
  const double err = max_error(be.download(out), golden.get("out"));
  RecordProperty("max_error", test::scientific(err));
  EXPECT_LE(err, kGoldenTolerance);
  // The scratch is reusable: a second call gives the same result.
  Tensor again = be.alloc(out.shape(), DType::F32);
  estimator.forward(x, t, *scratch, again);
  EXPECT_EQ(max_error(be.download(again), be.download(out)), 0.0);
}

TEST(CodecGolden, ScalarDecoderMatchesReference) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  HS_REQUIRE_SHARED(case_path, "golden/codec_scalar_decode.safetensors");
  const CodecModel& model = test::tiny_codec(folder);
  const auto golden = SafetensorsFile::open(case_path);
  const Tensor audio = model.decoder().decode(model.backend().upload(golden.get("latent")));
  ASSERT_EQ(audio.shape(), golden.get("out").shape());
  const double err = max_error(model.backend().download(audio), golden.get("out"));
  RecordProperty("max_error", test::scientific(err));
  EXPECT_LE(err, kGoldenTolerance);
}

// Renames every `.parametrizations.weight.original0/1` to the older `.weight_g/.weight_v`.
NamedTensors with_legacy_weight_norm_names(const NamedTensors& tensors) {
  const std::string current = ".parametrizations.weight.original";
  NamedTensors out;
  int renamed = 0;
  for (const auto& [name, tensor] : tensors) {
    const auto at = name.find(current);
    if (at == std::string::npos) {
      out.emplace(name, tensor);
      continue;
    }
    const char which = name[at + current.size()];
    out.emplace(name.substr(0, at) + (which == '0' ? ".weight_g" : ".weight_v"), tensor);
    ++renamed;
  }
  EXPECT_GT(renamed, 100);
  return out;
}

TEST(CodecGolden, LegacyWeightNormNamesLoadTheSameDecoder) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  HS_REQUIRE_SHARED(case_path, "golden/codec_scalar_decode.safetensors");
  CpuBackend cpu;
  const NamedTensors current = named_tensors(TensorStore::open(folder));
  const CodecConfig config = read_codec_config(folder / "config.json");
  const CodecModel legacy(cpu, with_legacy_weight_norm_names(current), config);
  const auto golden = SafetensorsFile::open(case_path);
  const Tensor latent = cpu.upload(golden.get("latent"));
  const Tensor got = cpu.download(legacy.decoder().decode(latent));
  EXPECT_LE(max_error(got, golden.get("out")), kGoldenTolerance);
  EXPECT_EQ(max_error(got, cpu.download(test::tiny_codec(folder).decoder().decode(latent))), 0.0);
}

TEST(CodecGolden, MissingOrMisshapenTensorsNameTheTensor) {
  HS_REQUIRE_SHARED(folder, "golden/codec-tiny");
  CpuBackend cpu;
  const CodecConfig config = read_codec_config(folder / "config.json");
  NamedTensors tensors = named_tensors(TensorStore::open(folder));
  const std::string v = "scalar_model.decoder.3.convs.2.conv1.parametrizations.weight.original1";
  NamedTensors missing = tensors;
  missing.erase(v);
  try {
    CodecModel model(cpu, missing, config);
    FAIL() << "loading without " << v << " succeeded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("scalar_model.decoder.3.convs.2.conv1"), std::string::npos) << e.what();
  }
  NamedTensors misshapen = tensors;
  misshapen["flow_matching.estimator.proj_out.ffn_2.bias"] = Tensor::zeros({255}, DType::F32);
  EXPECT_THROW(CodecModel(cpu, misshapen, config), FormatError);
}

}  // namespace
}  // namespace hs
