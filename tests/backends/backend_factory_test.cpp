// The backend factory: device and precision names round-trip and bad ones are refused with the
// option's name and the allowed values; cuda in a build or on a machine without it, and bf16 / fp8
// on the CPU, are refused with the reason; the LM gets the chosen device, the codec the CPU at fp32.
#include "engine/backends/backend_factory.h"

#include <gtest/gtest.h>

#include <string>

namespace hs {
namespace {

// The message `fn` throws as InvalidArgument ("" when it throws nothing).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(BackendFactory, NamesRoundTrip) {
  for (const Device d : {Device::Cpu, Device::Cuda}) EXPECT_EQ(parse_device(device_name(d)), d);
  for (const Precision p : {Precision::F32, Precision::BF16, Precision::FP8})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_EQ(device_name(Device::Cuda), "cuda");
  EXPECT_EQ(precision_name(Precision::FP8), "fp8");
}

TEST(BackendFactory, BadNamesListTheAllowedValues) {
  EXPECT_EQ(error_of([] { parse_device("gpu", "--device"); }), "--device 'gpu' is not one of cpu, cuda");
  EXPECT_EQ(error_of([] { parse_device("CUDA", "model.device"); }), "model.device 'CUDA' is not one of cpu, cuda");
  EXPECT_EQ(error_of([] { parse_precision("f32", "--precision"); }), "--precision 'f32' is not one of fp32, bf16, fp8");
  EXPECT_EQ(error_of([] { parse_precision(""); }), "precision '' is not one of fp32, bf16, fp8");
}

TEST(BackendFactory, CpuComputesInFp32Only) {
  const BackendOptionNames names{.device = "--device", .precision = "--precision"};
  EXPECT_EQ(error_of([&] { check_backend_choice({Device::Cpu, Precision::F32}, names); }), "");
  for (const Precision p : {Precision::BF16, Precision::FP8})
    EXPECT_EQ(error_of([&] { check_backend_choice({Device::Cpu, p}, names); }),
              "--precision " + std::string(precision_name(p)) +
                  ": the CPU backend computes in fp32; bf16 and fp8 need --device cuda");
}

TEST(BackendFactory, CudaWithoutTheBackendOrADeviceIsAClearError) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present (tests/gpu covers it)";
  const std::string message = error_of([] { make_model_backends({Device::Cuda, Precision::FP8}, {.device = "--device"}); });
  if (cuda_backend_built())
    EXPECT_EQ(message.rfind("--device cuda: no CUDA device found", 0), 0u) << message;
  else
    EXPECT_EQ(message,
              "--device cuda: this build has no CUDA backend (configure with -DHEARTSTREAM_CUDA=ON and the CUDA toolkit)");
}

TEST(BackendFactory, CpuChoiceGivesCpuBackendsForBothModels) {
  const ModelBackends b = make_model_backends({});
  ASSERT_TRUE(b.lm && b.codec);
  EXPECT_EQ(b.lm->name(), "cpu");
  EXPECT_EQ(b.codec->name(), "cpu");
  EXPECT_EQ(b.lm_precision, Precision::F32);
  EXPECT_EQ(b.codec_precision, Precision::F32);
}

}  // namespace
}  // namespace hs
