// CPU codec ops other than convolutions against double-precision loops.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "tests/codec/codec_test_util.h"

namespace hs {
namespace {

using test::max_error;
using test::random_tensor;

constexpr double kTolerance = 1e-6;

const float* f(const Tensor& t) { return t.data<float>(); }

TEST(CodecOps, PreluSharedAndPerChannel) {
  CpuBackend cpu;
  std::mt19937 gen(1);
  const Tensor x = random_tensor({2, 3, 11}, gen);
  const Tensor shared = Tensor::from_f32({1}, {0.25f}), per_channel = Tensor::from_f32({3}, {0.1f, -0.5f, 2.0f});
  for (const Tensor* alpha : {&shared, &per_channel}) {
    Tensor out = cpu.alloc(x.shape(), DType::F32);
    cpu.prelu(x, *alpha, out);
    std::vector<double> want(static_cast<std::size_t>(x.numel()));
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double a = alpha->numel() == 1 ? f(*alpha)[0] : f(*alpha)[i / 11 % 3];
      want[static_cast<std::size_t>(i)] = f(x)[i] >= 0 ? f(x)[i] : a * f(x)[i];
    }
    EXPECT_LE(max_error(out, want), kTolerance);
  }
  Tensor out = cpu.alloc(x.shape(), DType::F32);
  EXPECT_THROW(cpu.prelu(x, Tensor::from_f32({2}, {1.0f, 1.0f}), out), InvalidArgument);
}

TEST(CodecOps, LayerNormWithoutAffine) {
  CpuBackend cpu;
  std::mt19937 gen(2);
  const Tensor x = random_tensor({4, 33}, gen, 5.0f);
  Tensor out = cpu.alloc(x.shape(), DType::F32);
  cpu.layer_norm(x, 1e-6f, out);
  std::vector<double> want;
  for (int r = 0; r < 4; ++r) {
    double mean = 0, var = 0;
    for (int d = 0; d < 33; ++d) mean += f(x)[r * 33 + d] / 33.0;
    for (int d = 0; d < 33; ++d) var += (f(x)[r * 33 + d] - mean) * (f(x)[r * 33 + d] - mean) / 33.0;
    for (int d = 0; d < 33; ++d) want.push_back((f(x)[r * 33 + d] - mean) / std::sqrt(var + 1e-6));
  }
  EXPECT_LE(max_error(out, want), kTolerance);
}

TEST(CodecOps, ModulateAndGatedAddUsePerBatchVectors) {
  CpuBackend cpu;
  std::mt19937 gen(3);
  const std::int64_t B = 2, T = 5, D = 7;
  const Tensor x = random_tensor({B, T, D}, gen), y = random_tensor({B, T, D}, gen);
  const Tensor shift = random_tensor({B, D}, gen), scale = random_tensor({B, D}, gen), gate = random_tensor({B, D}, gen);
  Tensor mod = cpu.alloc(x.shape(), DType::F32), res = cpu.alloc(x.shape(), DType::F32);
  cpu.modulate(x, shift, scale, mod);
  cpu.gated_add(x, y, gate, res);
  std::vector<double> want_mod, want_res;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const std::int64_t b = i / (T * D), d = i % D;
    want_mod.push_back(f(x)[i] * (1.0 + f(scale)[b * D + d]) + f(shift)[b * D + d]);
    want_res.push_back(f(x)[i] + double{f(gate)[b * D + d]} * f(y)[i]);
  }
  EXPECT_LE(max_error(mod, want_mod), kTolerance);
  EXPECT_LE(max_error(res, want_res), kTolerance);
  EXPECT_THROW(cpu.modulate(x, shift, cpu.alloc({B, D + 1}, DType::F32), mod), InvalidArgument);
}

// A 'same' conv of kernel 3 and 5 as one linear over its taps plus sum_taps equals conv1d on the
// channel-major layout (the estimator's ProjectLayer runs its conv this way).
TEST(CodecOps, SumTapsOfTheTapLinearIsTheSameConv) {
  CpuBackend cpu;
  std::mt19937 gen(5);
  const std::int64_t batch = 2, frames = 7, in = 5, out = 4;
  for (const std::int64_t kernel : {3, 5}) {
    const Tensor x = random_tensor({batch, frames, in}, gen), w = random_tensor({out, in, kernel}, gen),
                 bias = random_tensor({out}, gen);
    Tensor channels = cpu.alloc({batch, in, frames}, DType::F32), conv = cpu.alloc({batch, out, frames}, DType::F32);
    Tensor want = cpu.alloc({batch, frames, out}, DType::F32);
    cpu.transpose(x, channels);
    const std::int64_t pad = (kernel - 1) / 2;
    cpu.conv1d(channels, w, &bias, {.pad_left = pad, .pad_right = pad}, conv);
    cpu.transpose(conv, want);
    Tensor taps_w = Tensor::zeros({kernel * out, in}, DType::F32);
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t i = 0; i < in; ++i)
        for (std::int64_t j = 0; j < kernel; ++j) taps_w.data<float>()[(j * out + o) * in + i] = f(w)[(o * in + i) * kernel + j];
    Tensor taps = cpu.alloc({batch, frames, kernel * out}, DType::F32), got = cpu.alloc({batch, frames, out}, DType::F32);
    Tensor taps_rows = taps.reshape({batch * frames, kernel * out});
    cpu.linear(x.reshape({batch * frames, in}), cpu.load_linear(taps_w, nullptr, Precision::F32), taps_rows);
    cpu.sum_taps(taps, &bias, got);
    std::vector<double> reference(static_cast<std::size_t>(want.numel()));
    for (std::int64_t i = 0; i < want.numel(); ++i) reference[static_cast<std::size_t>(i)] = f(want)[i];
    EXPECT_LE(max_error(got, reference), kTolerance) << "kernel " << kernel;
  }
  Tensor out4 = cpu.alloc({2, 7, 4}, DType::F32);
  EXPECT_THROW(cpu.sum_taps(cpu.alloc({2, 7, 8}, DType::F32), nullptr, out4), InvalidArgument);  // 2 taps: even
}

// modulation_vectors against the layout it promises: out[l, g, b, :] = adaln[b, g·D + :] + tables[l, g·D + :].
TEST(CodecOps, ModulationVectorsAddEachBlocksTable) {
  CpuBackend cpu;
  std::mt19937 gen(6);
  const std::int64_t layers = 3, groups = 6, batch = 2, dim = 5;
  const Tensor adaln = random_tensor({batch, groups * dim}, gen), tables = random_tensor({layers, groups * dim}, gen);
  Tensor out = cpu.alloc({layers, groups, batch, dim}, DType::F32);
  cpu.modulation_vectors(adaln, tables, out);
  std::vector<double> want;
  for (std::int64_t l = 0; l < layers; ++l)
    for (std::int64_t g = 0; g < groups; ++g)
      for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t d = 0; d < dim; ++d)
          want.push_back(double{f(adaln)[b * groups * dim + g * dim + d]} + f(tables)[l * groups * dim + g * dim + d]);
  EXPECT_LE(max_error(out, want), kTolerance);
  Tensor wrong = cpu.alloc({layers, groups, batch, dim + 1}, DType::F32);
  EXPECT_THROW(cpu.modulation_vectors(adaln, tables, wrong), InvalidArgument);
}

TEST(CodecOps, SiluAxpbyAndAddRow) {
  CpuBackend cpu;
  std::mt19937 gen(4);
  const Tensor a = random_tensor({3, 10}, gen, 3.0f), b = random_tensor({3, 10}, gen), row = random_tensor({10}, gen);
  Tensor s = cpu.alloc(a.shape(), DType::F32), c = cpu.alloc(a.shape(), DType::F32), r = cpu.alloc(a.shape(), DType::F32);
  cpu.silu(a, s);
  cpu.axpby(-0.25f, a, 1.25f, b, c);
  cpu.add_row(a, row, r);
  std::vector<double> want_s, want_c, want_r;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    want_s.push_back(f(a)[i] / (1.0 + std::exp(-double{f(a)[i]})));
    want_c.push_back(-0.25 * f(a)[i] + 1.25 * f(b)[i]);
    want_r.push_back(double{f(a)[i]} + f(row)[i % 10]);
  }
  EXPECT_LE(max_error(s, want_s), kTolerance);
  EXPECT_LE(max_error(c, want_c), kTolerance);
  EXPECT_LE(max_error(r, want_r), kTolerance);
}

TEST(CodecOps, TransposeSwapsTheLastTwoDims) {
  CpuBackend cpu;
  std::mt19937 gen(5);
  const Tensor x = random_tensor({2, 45, 70}, gen);  // crosses the 32-wide blocks
  Tensor out = cpu.alloc({2, 70, 45}, DType::F32);
  cpu.transpose(x, out);
  for (int a = 0; a < 2; ++a)
    for (int m = 0; m < 45; ++m)
      for (int n = 0; n < 70; ++n) ASSERT_EQ(f(out)[(a * 70 + n) * 45 + m], f(x)[(a * 45 + m) * 70 + n]);
  const Tensor flat = random_tensor({3, 4}, gen);
  Tensor flat_out = cpu.alloc({4, 3}, DType::F32);
  cpu.transpose(flat, flat_out);
  EXPECT_EQ(f(flat_out)[1 * 3 + 2], f(flat)[2 * 4 + 1]);
  EXPECT_THROW(cpu.transpose(x, flat_out), InvalidArgument);
}

TEST(CodecOps, ColumnCopiesConcatenateAndSplit) {
  CpuBackend cpu;
  std::mt19937 gen(6);
  const Tensor a = random_tensor({2, 3, 4}, gen), b = random_tensor({2, 3, 5}, gen);
  Tensor joined = cpu.alloc({2, 3, 9}, DType::F32);
  cpu.write_columns(a, joined, 0);
  cpu.write_columns(b, joined, 4);
  for (int r = 0; r < 6; ++r) {
    for (int j = 0; j < 4; ++j) ASSERT_EQ(f(joined)[r * 9 + j], f(a)[r * 4 + j]);
    for (int j = 0; j < 5; ++j) ASSERT_EQ(f(joined)[r * 9 + 4 + j], f(b)[r * 5 + j]);
  }
  Tensor back = cpu.alloc({2, 3, 5}, DType::F32);
  cpu.read_columns(joined, 4, back);
  EXPECT_EQ(max_error(back, b), 0.0);
  EXPECT_THROW(cpu.write_columns(b, joined, 5), InvalidArgument);
  Tensor other_rank = cpu.alloc({6, 4}, DType::F32);
  EXPECT_THROW(cpu.read_columns(joined, 0, other_rank), InvalidArgument);
}

TEST(CodecOps, RoundToGridRoundsHalvesToEven) {
  CpuBackend cpu;
  // Exact halves on a grid of 2 (x·2 = 2.5, 3.5, −2.5) round to even, like torch.round.
  const Tensor halves = Tensor::from_f32({4}, {1.25f, 1.75f, -1.25f, 0.3f});
  Tensor out = cpu.alloc({4}, DType::F32);
  cpu.round_to_grid(halves, 2.0f, out);
  EXPECT_EQ(std::vector<float>(f(out), f(out) + 4), (std::vector<float>{1.0f, 2.0f, -1.0f, 0.5f}));
  // The codec's grid of 9: 0.1·9 = 0.9 → 1/9, −0.3·9 = −2.7 → −3/9.
  const Tensor x = Tensor::from_f32({2}, {0.1f, -0.3f});
  Tensor grid = cpu.alloc({2}, DType::F32);
  cpu.round_to_grid(x, 9.0f, grid);
  EXPECT_EQ(f(grid)[0], 1.0f / 9.0f);
  EXPECT_EQ(f(grid)[1], -3.0f / 9.0f);
}

TEST(CodecOps, RepeatLastUpsamplesTime) {
  CpuBackend cpu;
  const Tensor x = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor out = cpu.alloc({2, 6}, DType::F32);
  cpu.repeat_last(x, 2, out);
  EXPECT_EQ(std::vector<float>(f(out), f(out) + 12), (std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6}));
}

TEST(CodecOps, TimestepEmbeddingIsCosThenSin) {
  CpuBackend cpu;
  const Tensor t = Tensor::from_f32({2}, {0.0f, 0.3f});
  const std::int64_t D = 16;
  Tensor out = cpu.alloc({2, D}, DType::F32);
  cpu.timestep_embedding(t, 1000.0f, 10000.0f, out);
  std::vector<double> want;
  for (int b = 0; b < 2; ++b) {
    std::vector<double> c, s;
    for (int i = 0; i < D / 2; ++i) {
      const double arg = f(t)[b] * 1000.0 * std::exp(-std::log(10000.0) * i / (D / 2));
      c.push_back(std::cos(arg));
      s.push_back(std::sin(arg));
    }
    want.insert(want.end(), c.begin(), c.end());
    want.insert(want.end(), s.begin(), s.end());
  }
  EXPECT_LE(max_error(out, want), kTolerance);
}

TEST(CodecOps, CrossfadeRampsLinearlyFromAToB) {
  CpuBackend cpu;
  std::mt19937 gen(7);
  const Tensor a = random_tensor({2, 9}, gen), b = random_tensor({2, 9}, gen);
  Tensor out = cpu.alloc(a.shape(), DType::F32);
  cpu.crossfade(a, b, out);
  std::vector<double> want;
  for (int i = 0; i < 18; ++i) want.push_back(f(a)[i] * (1 - (i % 9) / 8.0) + f(b)[i] * ((i % 9) / 8.0));
  EXPECT_LE(max_error(out, want), kTolerance);
  EXPECT_EQ(f(out)[0], f(a)[0]);
  EXPECT_EQ(f(out)[8], f(b)[8]);
}

// The CPU's GEMM inputs stay fp32 (Backend::gemm_input_dtype), and an fp8 one handed to it anyway
// is refused with the op's name rather than read as fp32.
TEST(CodecOps, FloatGemmInputsOnlyAndFp8Refused) {
  CpuBackend cpu;
  EXPECT_EQ(cpu.gemm_input_dtype(Precision::FP8), DType::F32);
  std::mt19937 gen(8);
  const Tensor x = random_tensor({2, 3, 8}, gen), weight = random_tensor({8}, gen), vec = random_tensor({2, 8}, gen);
  const ScaledTensor fp8(Tensor::zeros({2, 3, 8}, DType::F8_E4M3), Tensor::zeros({2, 3}, DType::F32));
  auto message = [](const auto& call) {
    try {
      call();
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { cpu.rms_norm_modulate(x, weight, 1e-6f, vec, vec, fp8); }).find("rms_norm_modulate"),
            std::string::npos);
  const Weight w = cpu.load_linear(random_tensor({8, 8}, gen), nullptr, Precision::F32);
  const Weight stack = cpu.load_linear(random_tensor({16, 8}, gen), nullptr, Precision::F32);
  Tensor out = cpu.alloc({6, 8}, DType::F32), gate = cpu.alloc({6, 8}, DType::F32), up = cpu.alloc({6, 8}, DType::F32);
  const Tensor rows = x.reshape({6, 8});
  const ScaledTensor fp8_rows(Tensor::zeros({6, 8}, DType::F8_E4M3), Tensor::zeros({6}, DType::F32));
  EXPECT_NE(message([&] { cpu.linear_swiglu(rows, stack, gate, up, fp8_rows); }).find("linear_swiglu"),
            std::string::npos);
  EXPECT_NE(message([&] { cpu.linear(fp8_rows, w, out); }).find("linear"), std::string::npos);
}

}  // namespace
}  // namespace hs
