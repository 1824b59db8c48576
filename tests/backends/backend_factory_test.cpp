// The backend factory: device and precision names round-trip and bad ones are refused with the
// option's name and the allowed values; cuda in a build or on a machine without it, and bf16 / fp8
// on the CPU, are refused with the reason (for either model, under the option that chose it); the
// codec follows the LM's device and precision unless told otherwise.
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
  for (const Device d : {Device::Cpu, Device::Cuda}) EXPECT_EQ(parse_device(device_name(d)), (DeviceName{d, 0}));
  for (const DeviceName d : {DeviceName{Device::Cpu, 0}, DeviceName{Device::Cuda, 0}, DeviceName{Device::Cuda, 1},
                             DeviceName{Device::Cuda, 1023}})
    EXPECT_EQ(parse_device(device_label(d.device, d.index)), d);
  EXPECT_EQ(device_label(Device::Cuda, 0), "cuda");
  EXPECT_EQ(device_label(Device::Cuda, 3), "cuda:3");
  EXPECT_EQ(parse_device("cuda:0"), (DeviceName{Device::Cuda, 0}));
  for (const Precision p : {Precision::F32, Precision::BF16, Precision::FP8, Precision::NF4, Precision::INT4})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_EQ(device_name(Device::Cuda), "cuda");
  EXPECT_EQ(precision_name(Precision::FP8), "fp8");
}

TEST(BackendFactory, BadNamesListTheAllowedValues) {
  EXPECT_EQ(error_of([] { parse_device("gpu", "--device"); }), "--device 'gpu' is not one of cpu, cuda, cuda:N");
  EXPECT_EQ(error_of([] { parse_device("CUDA", "model.device"); }),
            "model.device 'CUDA' is not one of cpu, cuda, cuda:N");
  EXPECT_EQ(error_of([] { parse_device("cpu:0"); }), "device 'cpu:0' is not one of cpu, cuda, cuda:N");
  for (const char* bad :
       {"cuda:", "cuda:x", "cuda:-1", "cuda:+1", "cuda:01", "cuda:1 ", "cuda:1024", "cuda:99999999999"})
    EXPECT_EQ(error_of([&] { parse_device(bad, "--device"); }),
              "--device '" + std::string(bad) + "': expected cuda:N with N a CUDA device number (0, 1, ...)");
  EXPECT_EQ(error_of([] { parse_precision("f32", "--precision"); }),
            "--precision 'f32' is not one of fp32, bf16, fp8, nf4, int4");
  EXPECT_EQ(error_of([] { parse_precision(""); }), "precision '' is not one of fp32, bf16, fp8, nf4, int4");
}

// The codec has no 4-bit path: beside a 4-bit language model it takes fp8 unless told otherwise.
TEST(BackendFactory, TheCodecOfA4BitLanguageModelIsFp8) {
  for (const Precision p : {Precision::NF4, Precision::INT4}) {
    EXPECT_EQ((BackendChoice{Device::Cuda, p}.codec_precision_or_default()), Precision::FP8);
    EXPECT_EQ((BackendChoice{Device::Cuda, p, std::nullopt, Precision::BF16}.codec_precision_or_default()), Precision::BF16);
    EXPECT_EQ((BackendChoice{Device::Cuda, p, Device::Cpu}.codec_precision_or_default()), Precision::F32);
  }
}

TEST(BackendFactory, CpuComputesInFp32Only) {
  const BackendOptionNames names{.device = "--device", .precision = "--precision"};
  EXPECT_EQ(error_of([&] { check_backend_choice({Device::Cpu, Precision::F32}, names); }), "");
  for (const Precision p : {Precision::BF16, Precision::FP8})
    EXPECT_EQ(error_of([&] { check_backend_choice({Device::Cpu, p}, names); }),
              "--precision " + std::string(precision_name(p)) +
                  ": the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need --device cuda");
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

// A GPU the machine lacks is refused under the option that named it, for either model.
TEST(BackendFactory, AMissingGpuIsAClearError) {
  const int count = cuda_device_count();
  BackendChoice lm{.device = Device::Cuda, .precision = Precision::FP8};
  lm.device_index = count;
  const std::string message = error_of([&] { check_backend_choice(lm, {.device = "--device"}); });
  const std::string named = "--device " + device_label(Device::Cuda, count) + ": ";
  EXPECT_EQ(message.rfind(named, 0), 0u) << message;
  if (count > 0) {
    EXPECT_NE(message.find("this machine has " + std::to_string(count) + " CUDA device"), std::string::npos);
  }
  BackendChoice codec{.device = Device::Cpu, .precision = Precision::F32, .codec_device = Device::Cuda};
  codec.codec_device_index = count + 1;
  const std::string codec_message = error_of([&] { check_backend_choice(codec, {.codec_device = "--codec_device"}); });
  EXPECT_EQ(codec_message.rfind("--codec_device cuda:" + std::to_string(count + 1) + ": ", 0), 0u) << codec_message;
}

// The codec shares the language model's GPU unless its own device is named.
TEST(BackendFactory, TheCodecSharesTheLanguageModelsGpuUnlessNamed) {
  BackendChoice choice{.device = Device::Cuda, .precision = Precision::FP8};
  choice.device_index = 1;
  EXPECT_EQ(choice.codec_device_index_or_default(), 1);
  choice.codec_device = Device::Cuda;
  EXPECT_EQ(choice.codec_device_index_or_default(), 0);  // "cuda" named alone is cuda:0
  choice.codec_device_index = 2;
  EXPECT_EQ(choice.codec_device_index_or_default(), 2);
}

TEST(BackendFactory, TheCodecFollowsTheLanguageModelUnlessToldOtherwise) {
  const BackendChoice gpu{Device::Cuda, Precision::BF16};
  EXPECT_EQ(gpu.codec_device_or_default(), Device::Cuda);
  EXPECT_EQ(gpu.codec_precision_or_default(), Precision::BF16);
  const BackendChoice codec_on_cpu{Device::Cuda, Precision::FP8, Device::Cpu};
  EXPECT_EQ(codec_on_cpu.codec_precision_or_default(), Precision::F32);  // what the CPU computes
  const BackendChoice codec_on_gpu{Device::Cpu, Precision::F32, Device::Cuda};
  EXPECT_EQ(codec_on_gpu.codec_precision_or_default(), Precision::FP8);
  const BackendChoice explicit_precision{Device::Cuda, Precision::FP8, std::nullopt, Precision::F32};
  EXPECT_EQ(explicit_precision.codec_precision_or_default(), Precision::F32);
}

TEST(BackendFactory, CodecSettingsAreCheckedUnderTheirOwnNames) {
  const BackendOptionNames names{.device = "--device", .precision = "--precision", .codec_device = "--codec_device",
                                 .codec_precision = "--codec_precision"};
  EXPECT_EQ(error_of([&] { check_backend_choice({Device::Cpu, Precision::F32, std::nullopt, Precision::BF16}, names); }),
            "--codec_precision bf16: the CPU backend computes in fp32; bf16, fp8, nf4 and int4 need --device cuda");
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  const std::string message =
      error_of([&] { check_backend_choice({Device::Cpu, Precision::F32, Device::Cuda}, names); });
  EXPECT_EQ(message.rfind("--codec_device cuda: ", 0), 0u) << message;
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
