// The CUDA backend's codec ops (all but the convolutions) against the CPU reference, for fp32 and
// bf16 activations, at the shapes HeartCodec runs them: DiT widths 1536 and 3072 over 2 CFG rows ×
// 744 latent frames (and a streaming 2 × 64), estimator input channels 1024, latents [744, 256]
// split into [2, 128, T], scalar-decoder channels 2048 … 64 (T shortened where the CPU reference
// would be slow), the sinusoid [2, 512] and the 52-code-frame cross-fade; plus odd sizes (the
// kernels' scalar paths), outputs aliasing inputs and one bad argument per op. Each test moves a
// few million values at most: the host side (inputs, reference, comparison) dominates its time.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/cpu/cpu_backend.h"
#include "kernels/layer_norm.cuh"
#include "tests/gpu/gpu_test_support.h"

namespace hs {
namespace {

using test::normalised_error;

// HeartCodec's sizes (REFERENCE.md "The codec").
constexpr std::int64_t kCfgRows = 2;
constexpr std::int64_t kFrames = 744;        // latent frames of one 29.76 s window
constexpr std::int64_t kStreamFrames = 64;   // a streaming chunk
constexpr std::int64_t kWidth1 = 1536;       // DiT widths
constexpr std::int64_t kWidth2 = 3072;
constexpr std::int64_t kModulations = 6;     // AdaLN vectors per block
constexpr std::int64_t kInChannels = 1024;   // estimator input
constexpr std::int64_t kLatentChannels = 256;
constexpr std::int64_t kAudioChannels = 2;
constexpr std::int64_t kSamplesPerCodeFrame = 3840;
constexpr std::int64_t kOverlapSamples = 52 * kSamplesPerCodeFrame;
constexpr float kGridLevels = 9.0f;

// Bounds on the fp32 normalised error, by how each op rounds:
// one correctly rounded fp32 operation per value, on both sides: bit-identical;
constexpr double kExact = 0.0;
// a multiply-add the GPU fuses (one rounding) and the CPU rounds twice, or expf's 2 ulp: a few ulp;
constexpr double kFewUlp = 1e-6;
// fp32 sums over a row of ≤ 3072 values (the CPU sums in double).
constexpr double kRowSum = 1e-5;

class CudaCodecOps : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { HS_REQUIRE_GPU(); }
  DType act() const { return GetParam(); }
  CudaBackend& gpu() const { return test::cuda_backend(GetParam()); }
  Tensor random(const Shape& shape, float scale = 1.0f) { return test::random_tensor(shape, gen, act(), scale); }
  Tensor up(const Tensor& host) { return gpu().upload(host); }
  Tensor empty(const Shape& shape) { return gpu().alloc(shape, act()); }
  static Tensor host(const Shape& shape) { return Tensor::zeros(shape, DType::F32); }

  // The fp32 bound, or on bf16 activations tolerance(BF16): the output's rounding (2^-9 relative).
  void expect_close(const Tensor& got, const Tensor& want, double f32_bound, const std::string& what) {
    const double bound = act() == DType::F32 ? f32_bound : test::tolerance(DType::BF16);
    EXPECT_LE(normalised_error(gpu().download(got), want), bound) << what;
  }
  // Copies move values bit for bit (bf16 inputs are bf16-exact, so their fp32 reference is too).
  void expect_identical(const Tensor& got, const Tensor& want, const std::string& what) {
    const Tensor h = gpu().download(got);
    ASSERT_EQ(h.shape(), want.shape()) << what;
    EXPECT_EQ(std::memcmp(h.raw(), want.raw(), want.bytes()), 0) << what;
  }

  CpuBackend cpu;
  std::mt19937 gen{1234};
};

TEST_P(CudaCodecOps, Prelu) {
  // The decoder's stages from 2048 channels to 64 (T shortened); T = 1001 is not a multiple of 4.
  for (const Shape& shape : {Shape{2, 2048, 186}, Shape{2, 512, 930}, Shape{2, 64, 15000}, Shape{1, 3, 1001}}) {
    const Tensor x = random(shape);
    // A shared slope in place (as the decoder runs it), per-channel slopes out of place.
    for (const bool shared : {true, false}) {
      const Tensor alpha = test::random_tensor({shared ? 1 : shape[1]}, gen, DType::F32, 0.25f);
      Tensor want = host(shape);
      cpu.prelu(x, alpha, want);
      Tensor gx = up(x), out = shared ? gx : empty(shape);
      gpu().prelu(gx, gpu().upload_exact(alpha), out);
      expect_close(out, want, kExact, shape_str(shape) + (shared ? " shared, in place" : " per channel"));
    }
  }
  Tensor x = empty({1, 3, 5});
  EXPECT_THROW(gpu().prelu(x, gpu().upload_exact(Tensor::zeros({2}, DType::F32)), x), InvalidArgument);
  Tensor flat = empty({3, 5});
  EXPECT_THROW(gpu().prelu(flat, gpu().upload_exact(Tensor::zeros({1}, DType::F32)), flat), InvalidArgument);
}

TEST_P(CudaCodecOps, LayerNorm) {
  struct Case {
    std::int64_t rows, dim;
    float offset;  // added to x: the two-pass variance must not cancel
  };
  for (const Case c : {Case{kCfgRows * kFrames, kWidth1, 0.0f}, Case{kCfgRows * kFrames, kWidth2, 0.0f},
                       Case{kCfgRows * kStreamFrames, kWidth2, 4.0f}, Case{5, 1001, 1.0f}, Case{3, 6, 0.0f}}) {
    Tensor x = random({c.rows, c.dim}, 3.0f);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += c.offset;
    x = test::round_to(x, act());
    Tensor want = host(x.shape());
    cpu.layer_norm(x, 1e-6f, want);
    // In place (as the DiT's final norm runs) at the window's rows, out of place on the others.
    Tensor gx = up(x), out = c.rows == kCfgRows * kFrames ? gx : empty(x.shape());
    gpu().layer_norm(gx, 1e-6f, out);
    expect_close(out, want, kRowSum, shape_str(x.shape()));
  }
  Tensor rank3 = empty({1, 2, 8});
  EXPECT_THROW(gpu().layer_norm(rank3, 1e-6f, rank3), InvalidArgument);
  Tensor wide = empty({1, kernels::kLayerNormMaxDim + 1});
  EXPECT_THROW(gpu().layer_norm(wide, 1e-6f, wide), InvalidArgument);
}

// Shapes of modulate and gated_add: the DiT blocks at both widths, a streaming chunk, an odd width.
// The window's shapes run in place (as the DiT does), the others out of place.
const std::vector<Shape> kDitShapes{{kCfgRows, kFrames, kWidth1}, {kCfgRows, kFrames, kWidth2},
                                    {kCfgRows, kStreamFrames, kWidth1}, {2, 5, 1001}};

TEST_P(CudaCodecOps, Modulate) {
  for (const Shape& shape : kDitShapes) {
    const Tensor x = random(shape), shift = random({shape[0], shape[2]}), scale = random({shape[0], shape[2]}, 0.5f);
    Tensor want = host(shape);
    cpu.modulate(x, shift, scale, want);
    Tensor gx = up(x), out = shape[1] == kFrames ? gx : empty(shape);
    gpu().modulate(gx, up(shift), up(scale), out);
    expect_close(out, want, kFewUlp, shape_str(shape));
  }
  Tensor x = empty({2, 3, 8});
  EXPECT_THROW(gpu().modulate(x, empty({2, 9}), empty({2, 8}), x), InvalidArgument);
}

TEST_P(CudaCodecOps, GatedAdd) {
  for (const Shape& shape : kDitShapes) {
    const Tensor x = random(shape), y = random(shape), gate = random({shape[0], shape[2]});
    Tensor want = host(shape);
    cpu.gated_add(x, y, gate, want);
    Tensor gx = up(x), out = shape[1] == kFrames ? gx : empty(shape);
    gpu().gated_add(gx, up(y), up(gate), out);
    expect_close(out, want, kFewUlp, shape_str(shape));
  }
  Tensor x = empty({2, 3, 8});
  EXPECT_THROW(gpu().gated_add(x, empty({2, 3, 8}), empty({1, 8}), x), InvalidArgument);
  EXPECT_THROW(gpu().gated_add(x, empty({2, 4, 8}), empty({2, 8}), x), InvalidArgument);
}

// The DiT's fused ops take fp32 tensors (the codec's activations): one fp32 backend.
class CudaDitOps : public ::testing::Test {
 protected:
  void SetUp() override { HS_REQUIRE_GPU(); }
  CudaBackend& gpu() const { return test::cuda_backend(DType::F32); }
  Tensor random(const Shape& shape, float scale = 1.0f) { return test::random_tensor(shape, gen, DType::F32, scale); }
  CpuBackend cpu;
  std::mt19937 gen{99};
};

// rms_norm_modulate = rms_norm then modulate, in one pass: into fp32 the same fp32 operations (row
// sums differ: the CPU sums in double), into bf16 that result rounded once.
TEST_F(CudaDitOps, RmsNormModulate) {
  for (const Shape& shape : kDitShapes) {
    if (shape[2] % 4 != 0) continue;  // rms_norm's rows are whole float4 vectors
    const Tensor x = random(shape), weight = random({shape[2]}), shift = random({shape[0], shape[2]}),
                 scale = random({shape[0], shape[2]}, 0.5f);
    Tensor want = Tensor::zeros(shape, DType::F32);
    cpu.rms_norm_modulate(x, weight, 1e-6f, shift, scale, want);
    for (const DType out_dtype : {DType::F32, DType::BF16}) {
      Tensor out = gpu().alloc(shape, out_dtype);
      gpu().rms_norm_modulate(gpu().upload(x), gpu().upload(weight), 1e-6f, gpu().upload(shift), gpu().upload(scale),
                              out);
      EXPECT_LE(normalised_error(gpu().download(out), want), out_dtype == DType::F32 ? kRowSum : test::tolerance(out_dtype))
          << shape_str(shape) << " into " << dtype_name(out_dtype);
    }
  }
  Tensor x = gpu().alloc({2, 3, 8}, DType::F32), out = gpu().alloc({2, 3, 8}, DType::F32);
  EXPECT_THROW(gpu().rms_norm_modulate(x, gpu().alloc({8}, DType::F32), 1e-6f, gpu().alloc({2, 9}, DType::F32),
                                       gpu().alloc({2, 8}, DType::F32), out),
               InvalidArgument);
}

// sum_taps: the same fp32 additions in the same order, bit-identical; the estimator's ProjectLayers
// (proj_in to 1536, connection to 3072, proj_out to 256) at the window and a streaming chunk.
TEST_F(CudaDitOps, SumTaps) {
  for (const auto& [frames, channels] : {std::pair<std::int64_t, std::int64_t>{kFrames, kWidth1}, {kStreamFrames, kWidth2},
                                         {kStreamFrames, kLatentChannels}, {5, 1001}}) {
    const Tensor taps = random({kCfgRows, frames, 3 * channels}), bias = random({channels});
    Tensor want = Tensor::zeros({kCfgRows, frames, channels}, DType::F32);
    cpu.sum_taps(taps, &bias, want);
    Tensor out = gpu().alloc(want.shape(), DType::F32);
    const Tensor gbias = gpu().upload(bias);
    gpu().sum_taps(gpu().upload(taps), &gbias, out);
    const Tensor got = gpu().download(out);
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.bytes()), 0) << frames << " x " << channels;
  }
  Tensor out = gpu().alloc({2, 4, 8}, DType::F32);
  EXPECT_THROW(gpu().sum_taps(gpu().alloc({2, 4, 16}, DType::F32), nullptr, out), InvalidArgument);
}

// modulation_vectors: one add per value, bit-identical; the released stacks (24 × 1536, 6 × 3072)
// and an odd width.
TEST_F(CudaDitOps, ModulationVectors) {
  for (const auto& [layers, dim] : {std::pair<std::int64_t, std::int64_t>{24, kWidth1}, {6, kWidth2}, {3, 1001}}) {
    const Tensor adaln = random({kCfgRows, kModulations * dim}), tables = random({layers, kModulations * dim});
    Tensor want = Tensor::zeros({layers, kModulations, kCfgRows, dim}, DType::F32);
    cpu.modulation_vectors(adaln, tables, want);
    Tensor out = gpu().alloc(want.shape(), DType::F32);
    gpu().modulation_vectors(gpu().upload(adaln), gpu().upload(tables), out);
    const Tensor got = gpu().download(out);
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.bytes()), 0) << layers << " x " << dim;
    // Spot-check the CPU reference's layout itself: out[l, g, b, d] = adaln[b, g·D + d] + tables[l, g·D + d].
    const std::int64_t l = layers - 1, g = 4, b = 1, d = dim - 1;
    EXPECT_EQ(want.data<float>()[((l * kModulations + g) * kCfgRows + b) * dim + d],
              adaln.data<float>()[b * kModulations * dim + g * dim + d] + tables.data<float>()[l * kModulations * dim + g * dim + d]);
  }
  Tensor out = gpu().alloc({2, 6, 2, 8}, DType::F32);
  EXPECT_THROW(gpu().modulation_vectors(gpu().alloc({2, 48}, DType::F32), gpu().alloc({3, 48}, DType::F32), out),
               InvalidArgument);
}

TEST_P(CudaCodecOps, Silu) {
  // The timestep embedder's [2, D] at both widths, odd sizes.
  for (const Shape& shape : {Shape{kCfgRows, kWidth1}, Shape{kCfgRows, kWidth2}, Shape{1001}, Shape{3, 333}}) {
    const Tensor x = random(shape, 4.0f);
    Tensor want = host(shape);
    cpu.silu(x, want);
    Tensor out = empty(shape), gx = up(x);
    gpu().silu(gx, out);
    expect_close(out, want, kFewUlp, shape_str(shape));
    gpu().silu(gx, gx);
    expect_close(gx, want, kFewUlp, shape_str(shape) + " in place");
  }
  Tensor x = empty({4}), longer = empty({5});
  EXPECT_THROW(gpu().silu(x, longer), InvalidArgument);
  const DType other = act() == DType::F32 ? DType::BF16 : DType::F32;
  Tensor wrong_dtype = gpu().alloc({4}, other);
  EXPECT_THROW(gpu().silu(wrong_dtype, wrong_dtype), InvalidArgument);
}

TEST_P(CudaCodecOps, AddRow) {
  // Each block's AdaLN table onto [2, 6·D], the final shift / scale onto [2, D], an odd width.
  for (const Shape& shape : {Shape{kCfgRows, kModulations * kWidth1}, Shape{kCfgRows, kModulations * kWidth2},
                             Shape{kCfgRows, kWidth2}, Shape{3, 1001}}) {
    const Tensor x = random(shape), row = random({shape[1]});
    Tensor want = host(shape);
    cpu.add_row(x, row, want);
    const Tensor grow = up(row);
    Tensor out = empty(shape), gx = up(x);
    gpu().add_row(gx, grow, out);
    expect_close(out, want, kExact, shape_str(shape));
    gpu().add_row(gx, grow, gx);
    expect_close(gx, want, kExact, shape_str(shape) + " in place");
  }
  Tensor x = empty({2, 8});
  EXPECT_THROW(gpu().add_row(x, empty({7}), x), InvalidArgument);
}

TEST_P(CudaCodecOps, Axpby) {
  // The Euler step over [744, 256] latents, the in-context prefix (104 frames), an odd size.
  for (const Shape& shape : {Shape{kFrames, kLatentChannels}, Shape{104, kLatentChannels}, Shape{3, 1001}}) {
    const Tensor a = random(shape), b = random(shape);
    const float alpha = -0.5f, beta = 1.5f;  // guidance: (1 − g)·uncond + g·cond
    Tensor want = host(shape);
    cpu.axpby(alpha, a, beta, b, want);
    Tensor out = empty(shape), ga = up(a), gb = up(b);
    gpu().axpby(alpha, ga, beta, gb, out);
    expect_close(out, want, kFewUlp, shape_str(shape));
    Tensor ga2 = up(a);
    gpu().axpby(alpha, ga2, beta, gb, ga2);  // out = a
    expect_close(ga2, want, kFewUlp, shape_str(shape) + " out = a");
    gpu().axpby(alpha, ga, beta, gb, gb);  // out = b
    expect_close(gb, want, kFewUlp, shape_str(shape) + " out = b");
  }
  Tensor a = empty({4, 4});
  EXPECT_THROW(gpu().axpby(1.0f, a, 1.0f, empty({16}), a), InvalidArgument);
}

TEST_P(CudaCodecOps, Transpose) {
  // split_channels' [744, 256]; ProjectLayer's [B, T, 1024] → [B, 1024, T] and back; a streaming
  // chunk; sizes that are no multiple of the tile.
  for (const Shape& shape : {Shape{kFrames, kLatentChannels}, Shape{kCfgRows, kFrames, kInChannels},
                             Shape{kCfgRows, kInChannels, kFrames}, Shape{kCfgRows, kStreamFrames, kWidth1},
                             Shape{3, 33, 65}, Shape{1, 1}}) {
    const Tensor x = random(shape);
    Shape swapped = shape;
    std::swap(swapped[swapped.size() - 2], swapped.back());
    Tensor want = host(swapped);
    cpu.transpose(x, want);
    Tensor out = empty(swapped);
    gpu().transpose(up(x), out);
    expect_identical(out, want, shape_str(shape));
  }
  Tensor square = empty({4, 4});
  EXPECT_THROW(gpu().transpose(square, square), InvalidArgument);  // out must not alias x
  Tensor x = empty({4, 6}), wrong = empty({4, 6});
  EXPECT_THROW(gpu().transpose(x, wrong), InvalidArgument);
  Tensor rank4 = empty({1, 1, 2, 3}), rank4_out = empty({1, 1, 3, 2});
  EXPECT_THROW(gpu().transpose(rank4, rank4_out), InvalidArgument);
}

struct ColumnCase {
  Shape narrow, wide;
  std::int64_t offset;
};

// Column copies the codec makes; offsets and widths that are no multiple of 4 take narrower words.
const std::vector<ColumnCase> kColumnCases{
    // estimator: [x | h1] joined, a streaming chunk and a window
    {{kCfgRows, kStreamFrames, kInChannels}, {kCfgRows, kStreamFrames, kInChannels + kWidth1}, 0},
    {{kCfgRows, kFrames, kWidth1}, {kCfgRows, kFrames, kInChannels + kWidth1}, kInChannels},
    // flow matching: [x | in-context | features] rows
    {{kFrames, kLatentChannels}, {kFrames, kInChannels}, kLatentChannels},
    {{kFrames, 2 * kLatentChannels}, {kFrames, kInChannels}, 2 * kLatentChannels},
    // DiT: AdaLN vector 5 of [2, 6·D]
    {{kCfgRows, kWidth2}, {kCfgRows, kModulations * kWidth2}, 5 * kWidth2},
    // streaming decoder: carried conv state (6 frames) and a chunk in a window, upsample's offset 1
    {{kAudioChannels, 1024, 6}, {kAudioChannels, 1024, 6 + 160}, 0},
    {{kAudioChannels, 1024, 160}, {kAudioChannels, 1024, 6 + 160}, 6},
    {{kAudioChannels, 512, 37}, {kAudioChannels, 512, 38}, 1},
    // offline render: an overlap into the output (shortened: one overlap before it, not a hop)
    {{kAudioChannels, kOverlapSamples}, {kAudioChannels, 2 * kOverlapSamples}, kOverlapSamples},
    {{3, 5, 7}, {3, 5, 20}, 13},
};

TEST_P(CudaCodecOps, WriteColumns) {
  for (const ColumnCase& c : kColumnCases) {
    const Tensor src = random(c.narrow), dst = random(c.wide);
    Tensor want = dst.clone();
    cpu.write_columns(src, want, c.offset);
    Tensor gdst = up(dst);
    gpu().write_columns(up(src), gdst, c.offset);
    expect_identical(gdst, want, shape_str(c.narrow) + " at " + std::to_string(c.offset));
  }
  Tensor dst = empty({2, 8});
  EXPECT_THROW(gpu().write_columns(empty({2, 4}), dst, 5), InvalidArgument);   // columns past the end
  EXPECT_THROW(gpu().write_columns(empty({3, 4}), dst, 0), InvalidArgument);   // other rows
  EXPECT_THROW(gpu().write_columns(empty({2, 1, 4}), dst, 0), InvalidArgument);  // other rank
}

TEST_P(CudaCodecOps, ReadColumns) {
  for (const ColumnCase& c : kColumnCases) {
    const Tensor src = random(c.wide);
    Tensor want = host(c.narrow);
    cpu.read_columns(src, c.offset, want);
    Tensor out = empty(c.narrow);
    gpu().read_columns(up(src), c.offset, out);
    expect_identical(out, want, shape_str(c.narrow) + " at " + std::to_string(c.offset));
  }
  Tensor dst = empty({2, 4});
  EXPECT_THROW(gpu().read_columns(empty({2, 8}), 5, dst), InvalidArgument);
  EXPECT_THROW(gpu().read_columns(empty({3, 8}), 0, dst), InvalidArgument);
}

TEST_P(CudaCodecOps, RoundToGrid) {
  for (const Shape& shape : {Shape{kAudioChannels, 128, kFrames}, Shape{kAudioChannels, 128, kStreamFrames},
                             Shape{1, 3, 1001}}) {
    const Tensor x = random(shape);
    Tensor want = host(shape);
    cpu.round_to_grid(x, kGridLevels, want);
    Tensor out = empty(shape), gx = up(x);
    gpu().round_to_grid(gx, kGridLevels, out);
    expect_close(out, want, kExact, shape_str(shape));
    gpu().round_to_grid(gx, kGridLevels, gx);
    expect_close(gx, want, kExact, shape_str(shape) + " in place");
  }
  // Exact halves on a grid of 4 round to even, like torch.round.
  const Tensor halves = Tensor::from_f32({6}, {0.125f, 0.375f, 0.625f, -0.125f, -0.375f, 0.875f});
  const std::vector<float> expected{0.0f, 0.5f, 0.5f, 0.0f, -0.5f, 1.0f};
  Tensor out = empty({6});
  gpu().round_to_grid(up(halves), 4.0f, out);
  const Tensor got = gpu().download(out);
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(got.data<float>()[i], expected[i]) << "value " << i;
  Tensor x = empty({4});
  EXPECT_THROW(gpu().round_to_grid(x, 0.0f, x), InvalidArgument);
  EXPECT_THROW(gpu().round_to_grid(x, kGridLevels, out), InvalidArgument);
}

TEST_P(CudaCodecOps, RepeatLast) {
  struct Case {
    Shape shape;
    std::int64_t factor;
  };
  // The decoder's post-repeat ×2 of the last stage (T shortened), a streaming chunk, odd sizes.
  for (const Case& c : {Case{{kAudioChannels, 64, 30000}, 2}, Case{{kAudioChannels, 64, 1000}, 2},
                        Case{{3, 5, 7}, 3}, Case{{2, 3}, 1}, Case{{5}, 5}}) {
    const Tensor x = random(c.shape);
    Shape repeated = c.shape;
    repeated.back() *= c.factor;
    Tensor want = host(repeated);
    cpu.repeat_last(x, c.factor, want);
    Tensor out = empty(repeated);
    gpu().repeat_last(up(x), c.factor, out);
    expect_identical(out, want, shape_str(c.shape) + " x" + std::to_string(c.factor));
  }
  Tensor x = empty({2, 3});
  Tensor out = empty({2, 5});
  EXPECT_THROW(gpu().repeat_last(x, 2, out), InvalidArgument);
  EXPECT_THROW(gpu().repeat_last(x, 0, out), InvalidArgument);
}

TEST_P(CudaCodecOps, TimestepEmbedding) {
  constexpr float kScale = 1000.0f, kMaxPeriod = 10000.0f;
  for (const std::vector<float>& times : {std::vector<float>{0.0f, 0.37f}, std::vector<float>{0.999f}}) {
    const auto batch = static_cast<std::int64_t>(times.size());
    const Tensor t = Tensor::from_f32({batch}, times);
    for (const std::int64_t dim : {512, 6}) {
      Tensor want = host({batch, dim});
      cpu.timestep_embedding(t, kScale, kMaxPeriod, want);
      Tensor out = empty({batch, dim});
      gpu().timestep_embedding(gpu().upload_exact(t), kScale, kMaxPeriod, out);
      // Both sides evaluate in double and round once to fp32.
      expect_close(out, want, kFewUlp, "batch " + std::to_string(batch) + " dim " + std::to_string(dim));
    }
  }
  const Tensor t = gpu().upload_exact(Tensor::zeros({2}, DType::F32));
  Tensor odd = empty({2, 7});
  EXPECT_THROW(gpu().timestep_embedding(t, kScale, kMaxPeriod, odd), InvalidArgument);
  Tensor short_batch = empty({3, 8});
  EXPECT_THROW(gpu().timestep_embedding(t, kScale, kMaxPeriod, short_batch), InvalidArgument);
}

TEST_P(CudaCodecOps, Crossfade) {
  // The offline render's overlap (52 code frames × 2 channels), an odd length, length 1 (w = 0).
  for (const Shape& shape : {Shape{kAudioChannels, kOverlapSamples}, Shape{3, 1001}, Shape{2, 1}}) {
    const Tensor a = random(shape), b = random(shape);
    Tensor want = host(shape);
    cpu.crossfade(a, b, want);
    Tensor out = empty(shape), ga = up(a), gb = up(b);
    gpu().crossfade(ga, gb, out);
    // Both sides blend in double and round once to fp32.
    expect_close(out, want, kFewUlp, shape_str(shape));
    Tensor ga2 = up(a);
    gpu().crossfade(ga2, gb, ga2);  // out = a, as the render runs it
    expect_close(ga2, want, kFewUlp, shape_str(shape) + " out = a");
    gpu().crossfade(ga, gb, gb);
    expect_close(gb, want, kFewUlp, shape_str(shape) + " out = b");
  }
  Tensor a = empty({2, 8});
  EXPECT_THROW(gpu().crossfade(a, empty({2, 7}), a), InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Activations, CudaCodecOps, ::testing::Values(DType::F32, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace hs
